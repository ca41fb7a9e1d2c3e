import type { Command } from 'commander';

/**
 * A static bash completion script generated from the CLI's own command tree: commands,
 * options, argument and option choices, and files for options that take a file. Static on
 * purpose: a script that calls back into ccguard would start node at every TAB on a controller.
 */
export function bashCompletion(program: Command): string {
  const paths: string[] = [];
  const cases: string[] = [];
  const visit = (cmd: Command, path: string[]): void => {
    const key = path.join(' ');
    paths.push(key);
    const options = cmd.options.filter((o) => !o.hidden);
    const words = [
      ...cmd.commands.map((c) => c.name()),
      ...cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
      ...options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
      '--help',
    ];
    const valueCases = options.flatMap((o) => {
      const flags = [o.long, o.short].filter((f): f is string => f !== undefined).join('|');
      if (o.argChoices) return [`        ${flags}) COMPREPLY=($(compgen -W "${o.argChoices.join(' ')}" -- "$cur")); return ;;`];
      if (/<(file|path|[a-z-]*key|known-hosts)>/.test(o.flags)) return [`        ${flags}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`];
      if (o.required || o.optional) return [`        ${flags}) return ;;`];
      return [];
    });
    cases.push(
      [`    "${key}")`, ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []), `      words="${words.join(' ')}" ;;`].join(
        '\n',
      ),
    );
    for (const sub of cmd.commands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
  return `# bash completion for ccguard; install: ccguard completion bash > /etc/bash_completion.d/ccguard
_ccguard() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path="" next i words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    next="\${path:+$path }\${COMP_WORDS[i]}"
    case "$next" in
      ${paths
        .filter((p) => p !== '')
        .map((p) => `"${p}"`)
        .join('|')}) path=$next ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ccguard ccguard
`;
}
