import type { BaseIssue, IssuePathItem } from 'valibot';

export interface DescribeOptions {
  /**
   * Name keys the schema does not know (`unknown key "stateDirr"`). Only for the operator's own
   * files (config, defaults): a socket client's keys are its own text and are never written back.
   */
  nameUnknownKeys?: boolean;
}

type Issue = BaseIssue<unknown>;

/**
 * One clause per problem, naming the field and what it expects: `password: expected string`.
 * The value received is never part of it (valibot's default messages quote it: a password typed
 * into the wrong field would end up in a reply or a log).
 */
export function describeIssues(issues: readonly Issue[], options: DescribeOptions = {}): string {
  return issues.map((issue) => describeIssue(issue, options.nameUnknownKeys ?? false)).join('; ');
}

function describeIssue(issue: Issue, nameUnknownKeys: boolean): string {
  const path: readonly IssuePathItem[] = issue.path ?? [];
  const unknownKey = issue.expected === 'never' && path.at(-1)?.origin === 'key';
  if (unknownKey) {
    const parent = pathOf(path.slice(0, -1), nameUnknownKeys);
    if (nameUnknownKeys) return `unknown key "${pathOf(path, true)}"`;
    return `${parent ? `${parent}: ` : ''}unknown key (only the documented keys are accepted)`;
  }
  const key = pathOf(path, nameUnknownKeys) || '(top level)';
  if (issue.kind === 'schema' && issue.received === 'undefined' && path.at(-1)?.origin === 'key') return `${key}: missing`;
  return `${key}: ${expectation(issue)}`;
}

/** The dotted path; keys the client chose (record keys) show as `*` unless allowed. */
function pathOf(path: readonly IssuePathItem[], nameClientKeys: boolean): string {
  return path
    .map((item) => {
      if (item.type === 'array') return String(item.key);
      // An object's path keys are the schema's own (its entries); an unknown one is handled above.
      if (item.type === 'object' || nameClientKeys) return String(item.key);
      return '*';
    })
    .join('.');
}

/** What the field must be. A message the schema wrote itself names the rule and is kept. */
function expectation(issue: Issue): string {
  const isDefault = issue.message.startsWith('Invalid ') && issue.message.endsWith(`eceived ${issue.received}`);
  if (!isDefault) return issue.message;
  const expected = issue.expected;
  switch (issue.type) {
    case 'min_length':
    case 'max_length':
    case 'length':
      return `expected a length ${expected}`;
    case 'min_bytes':
    case 'max_bytes':
    case 'bytes':
      return `expected ${expected} bytes`;
    case 'min_value':
    case 'max_value':
    case 'gt_value':
    case 'lt_value':
    case 'value':
      return `expected a value ${expected}`;
    case 'integer':
      return 'expected an integer';
    case 'safe_integer':
      return 'expected a safe integer';
    case 'regex':
      return `expected a value matching ${expected}`;
    case 'ip':
      return 'expected an IP address';
    default:
      return expected ? `expected ${expected}` : `invalid (${issue.type.replaceAll('_', ' ')})`;
  }
}
