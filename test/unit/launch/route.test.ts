import t from 'tap';
import { routeOf } from '../../../agent/launch/route.js';

t.test('the daemon and the console start from their exact command lines; everything else is the CLI', async (t) => {
  t.same(routeOf(['daemon']), { kind: 'daemon', config: null });
  t.same(routeOf(['daemon', '--config', '/etc/ccguard/ccguard.json']), { kind: 'daemon', config: '/etc/ccguard/ccguard.json' });
  t.same(routeOf(['daemon', '--config=/etc/x.json']), { kind: 'daemon', config: '/etc/x.json' });
  t.same(routeOf(['console']), { kind: 'console', config: null });
  t.same(routeOf(['console', '--config', 'c.json']), { kind: 'console', config: 'c.json' });
  for (const args of [
    [],
    ['status'],
    ['daemon', '--help'],
    ['daemon', '--config'],
    ['daemon', '--config='],
    ['daemon', '--config', ''],
    ['daemon', 'x', 'y', 'z'],
    ['--config', 'x', 'daemon'],
  ]) {
    t.same(routeOf(args), { kind: 'cli' }, JSON.stringify(args));
  }
});
