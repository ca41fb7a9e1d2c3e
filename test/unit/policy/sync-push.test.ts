// What the master makes of its slave's answers (issue 22 #6): examples, and fast-check over any
// sequence of answers for the bound that stops a push loop.
import fc from 'fast-check';
import t from 'tap';
import { judgeReply, NEW_EPISODE, type PushEpisode, type PushReply, type PushVerdict } from '../../../policy/sync-push.js';

t.test('examples', async (t) => {
  const ahead = { pushed: 4, acked: 9, sealingKeyChanged: false };
  const first = judgeReply(NEW_EPISODE, ahead);
  t.same(first.verdict, { type: 'renumber', to: 10 }, 'a slave ahead is followed once (a master restored from a backup)');
  t.same(
    judgeReply(first.episode, { pushed: 10, acked: 11, sealingKeyChanged: false }).verdict,
    { type: 'hostile', reason: 'slaveAhead', keepKey: false },
    'ahead again: an error',
  );
  const key = judgeReply(NEW_EPISODE, { pushed: 1, acked: 1, sealingKeyChanged: true });
  t.same(key.verdict, { type: 'reseal' }, 'a new sealing key is taken once');
  t.same(
    judgeReply(key.episode, { pushed: 2, acked: 2, sealingKeyChanged: true }).verdict,
    { type: 'hostile', reason: 'sealingKeyChurn', keepKey: true },
    'again before an acknowledgement: an error, the key kept for the retry',
  );
  const acked = judgeReply(first.episode, { pushed: 10, acked: 10, sealingKeyChanged: false });
  t.same(acked, { verdict: { type: 'acked' }, episode: NEW_EPISODE }, 'a clean acknowledgement starts a new episode');
});

const reply = fc.record<PushReply>({ pushed: fc.integer({ min: 1, max: 1000 }), acked: fc.integer({ min: 1, max: 1001 }), sealingKeyChanged: fc.boolean() });

t.test('between two clean acknowledgements, a slave gets at most one renumbering and one reseal: no unbounded immediate pushes', async () => {
  fc.assert(
    fc.property(fc.array(reply, { maxLength: 60 }), (replies) => {
      let episode: PushEpisode = NEW_EPISODE;
      let renumbers = 0;
      let reseals = 0;
      for (const r of replies) {
        const out: { verdict: PushVerdict; episode: PushEpisode } = judgeReply(episode, r);
        episode = out.episode;
        if (out.verdict.type === 'acked') {
          renumbers = 0;
          reseals = 0;
        }
        if (out.verdict.type === 'renumber') renumbers++;
        if (out.verdict.type === 'reseal') reseals++;
        if (renumbers > 1 || reseals > 1) return false;
      }
      return true;
    }),
  );
});

t.test('a revision ahead is never acknowledged, and renumbering always goes above it', async () => {
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), reply, (renumbered, resealed, r) => {
      const { verdict } = judgeReply({ renumbered, resealed }, r);
      if (r.acked > r.pushed) return verdict.type === 'renumber' ? verdict.to > r.acked : verdict.type === 'hostile' && verdict.reason === 'slaveAhead';
      return verdict.type !== 'renumber';
    }),
  );
});

t.test('an answer that asks for nothing is an acknowledgement, whatever came before', async () => {
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 1000 }), (renumbered, resealed, pushed) => {
      const out = judgeReply({ renumbered, resealed }, { pushed, acked: pushed, sealingKeyChanged: false });
      return out.verdict.type === 'acked' && !out.episode.renumbered && !out.episode.resealed;
    }),
  );
});
