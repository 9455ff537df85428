/**
 * The services' error sentences end with advice worded for any client ("follow that job
 * instead"); on the command line the advice names the command that does it. Each rule matches
 * one server sentence and rewrites its advice; a sentence no rule knows passes unchanged.
 */

interface AdviceRule {
  pattern: RegExp;
  advice(match: RegExpExecArray): string;
}

const RULES: AdviceRule[] = [
  {
    pattern: /^style '([^']+)' has no canary in progress to [a-z ]+; (.*)$/,
    advice: (m) => `start one with \`nst releases start ${m[1]} <version>\``,
  },
  {
    pattern: /^style '([^']+)' already has canary version \S+ at \d+%; (.*)$/,
    advice: (m) => `promote it (\`nst releases promote ${m[1]}\`) or roll it back (\`nst releases rollback ${m[1]}\`) first`,
  },
  { pattern: /^there is no job "[^"]*"; (.*)$/, advice: () => 'list jobs with `nst jobs`' },
  {
    pattern: /^style "([^"]+)" already exists; (.*)$/,
    advice: (m) => `fine-tune it with \`nst finetune ${m[1]}\`, or choose another --name`,
  },
  { pattern: /^job (\S+) is already (?:training|fine-tuning) .*; (.*)$/, advice: (m) => `follow it with \`nst watch ${m[1]}\`` },
  { pattern: /^the request names no style; (.*)$/, advice: () => 'pick one from `nst styles`' },
  { pattern: /^style is not set; (.*)$/, advice: () => 'name one from `nst releases`' },
];

/** The server's sentence with its advice replaced by the `nst` command that follows it. */
export function adviseCommand(details: string): string {
  for (const rule of RULES) {
    const match = rule.pattern.exec(details);
    if (!match) continue;
    const advice = match[match.length - 1] ?? '';
    return `${details.slice(0, details.length - advice.length)}${rule.advice(match)}`;
  }
  return details;
}
