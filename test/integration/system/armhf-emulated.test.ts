// tap: serial
// the armhf package on armv7l Node 20.11.0, the floor the package declares, executed under qemu-user (issue 25; test/support/arm-package.ts).
// Serial: its figures (start to READY, a login beside a raw argon2 verify) need the cores to themselves.
import t from 'tap';
import { runArmPackage } from '../../support/arm-package.js';

t.test(`the armhf package runs under qemu-user: start, provision, login, password change, events, export, PC/SC`, (t) => runArmPackage(t, 'armhf'));
