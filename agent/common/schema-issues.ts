import type { BaseIssue } from 'valibot';
import { getDotPath } from 'valibot';

/** One clause per problem, each naming the key: `argon2.memoryKiB: Invalid type: Expected number …`. */
export function describeIssues(issues: readonly BaseIssue<unknown>[]): string {
  return issues
    .map((issue) => {
      const key = getDotPath(issue) ?? '';
      if (issue.type === 'strict_object' && issue.expected === 'never') return `unknown key "${key}"`;
      if (issue.type === 'strict_object' && issue.received === 'undefined') return `${key}: missing`;
      return `${key || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}
