// tap: serial
// the arm64 package on the registry's arm64 Node 20, executed under qemu-user (issue 25; test/support/arm-package.ts).
// Serial: its figures (start to READY, a login beside a raw argon2 verify) need the cores to themselves.
import t from 'tap';
import { runArmPackage } from '../../support/arm-package.js';

t.test(`the arm64 package runs under qemu-user: start, provision, login, password change, events, export, PC/SC`, (t) => runArmPackage(t, 'arm64'));
