// The password rules a role verdict breaks that come from the blocklist and the strength
// estimate (enforceStrong on), shared by the policy tests' corpora.
import type { Blocklist } from '../../policy/blocklist.js';
import { evaluatePassword } from '../../policy/password.js';
import { checkPassword } from '../../policy/strength.js';

const STRENGTH_RULES: readonly string[] = ['breached', 'commonBase', 'context', 'strength'];

export function strengthRules(password: string, blocklist: Blocklist, context: readonly string[]): string[] {
  const v = checkPassword(password, blocklist, context);
  const refusals = evaluatePassword(password, {
    role: 'operator',
    enforceStrong: true,
    score: v.score,
    listed: v.listed,
    equalsDefault: false,
    inHistory: false,
  });
  return refusals.map((r) => r.rule).filter((r) => STRENGTH_RULES.includes(r));
}
