import t from 'tap';
import { decideModeChange, modeFromStyleFile, WEB_UI_MODES } from '../../../policy/web-ui.js';

t.test('style file content', async (t) => {
  t.same(modeFromStyleFile(null), { mode: '1.0', recognised: true }, 'absent: the built-in default');
  t.same(modeFromStyleFile('2.0\n'), { mode: '2.0', recognised: true });
  t.same(modeFromStyleFile(' 2.0-only \n'), { mode: '2.0-only', recognised: true });
  t.same(modeFromStyleFile('3.0'), { mode: '1.0', recognised: false });
  t.same(modeFromStyleFile(''), { mode: '1.0', recognised: false });
});

t.test('2.0-only is one-way; every other change is allowed', async (t) => {
  for (const from of WEB_UI_MODES) {
    for (const to of WEB_UI_MODES) {
      const d = decideModeChange(from, to);
      if (from === '2.0-only' && to !== '2.0-only') t.same(d, { allowed: false, reason: 'oneWay' }, `${from} → ${to}`);
      else t.same(d, { allowed: true, change: from !== to }, `${from} → ${to}`);
    }
  }
});
