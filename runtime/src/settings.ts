/**
 * How the platform's settings are declared and read: every setting is an environment variable
 * with an embedded default, parsed and validated with zod once at start-up. Each part declares
 * its own group (runtime's core and stores here; each service in its own package's config.ts)
 * and a process reads the groups it needs in one pass, so one error names every bad variable.
 * The typed values, the error messages and the documentation (settingsDocsMarkdown, the table
 * in runtime/README.md) all come from the same declarations, so the docs cannot drift.
 */
import { resolve } from 'node:path';
import { z } from 'zod';

/** Where relative paths resolve, and what defaults derive from. */
export interface SettingsContext {
  cwd: string;
  /** The already parsed data folder (NST_DATA_DIR), for defaults below it. */
  dataDir?: string;
  /** Whether standard output is a terminal (the log format's default). */
  stdoutIsTTY: boolean;
}

export interface Setting<S extends z.ZodType<unknown, string> = z.ZodType<unknown, string>> {
  env: string;
  description: string;
  /** Parses the raw (trimmed, non-empty) string of the variable. */
  schema: S;
  /** The raw default, or none for optional settings (then the value is undefined). */
  default?: string | ((context: SettingsContext) => string);
  /** How the default reads in the docs, when it is derived. */
  defaultDoc?: string;
  /** Paths resolve against cwd. */
  path?: boolean;
}

/** Keeps each spec's own type, so the values know which settings have defaults. */
export function setting<T extends Setting>(spec: T): T {
  return spec;
}

/** A default below the data folder: `<NST_DATA_DIR>/<...parts>`. */
export function underDataDir(...parts: string[]): { default: (context: SettingsContext) => string; defaultDoc: string; path: true } {
  return { default: ({ dataDir }) => resolve(dataDir ?? '.data', ...parts), defaultDoc: `\`<NST_DATA_DIR>/${parts.join('/')}\``, path: true };
}

// ---- the parsers settings share ----

export const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]*\.?[0-9]+$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** host:port, with IPv6 hosts in brackets; what @grpc/grpc-js accepts as a target. */
export const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$/, 'must be host:port (for example 127.0.0.1:50051)')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

export const text = z.string().min(1);
export const boolean = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true');
export const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** A service's Prometheus port: `/metrics` over plain HTTP on every interface; 0 serves none. */
export function metricsPortSetting<E extends string>(env: E, port: number, title: string) {
  return setting({ env, default: String(port), schema: wholeNumber(0, 65535), description: `Port of ${title}'s Prometheus \`/metrics\` (plain HTTP, all interfaces); 0 serves none.` });
}

// ---- groups ----

export type SettingsTable = Record<string, Setting>;
type IsOptional<S> = S extends { default: unknown } ? false : true;

/** The validated values of a table. Optional settings (no default) are undefined when unset. */
export type SettingsValues<T extends SettingsTable> = Readonly<
  { [K in keyof T as IsOptional<T[K]> extends true ? never : K]: z.output<T[K]['schema']> } & {
    [K in keyof T as IsOptional<T[K]> extends true ? K : never]?: z.output<T[K]['schema']>;
  }
>;

export interface SettingProblem {
  env: string;
  value: string;
  message: string;
}

export interface SettingsGroup<T extends SettingsTable = SettingsTable> {
  /** Who reads them, as the docs head their table ("StyleService (`inference/src/config.ts`)"). */
  title: string;
  table: T;
  /** Checks that span settings of the group, once each has parsed. */
  check?(values: SettingsValues<T>): SettingProblem[];
}

export function settingsGroup<T extends SettingsTable>(title: string, table: T, check?: (values: SettingsValues<T>) => SettingProblem[]): SettingsGroup<T> {
  return { title, table, ...(check ? { check } : {}) };
}

type ValuesOfGroups<G extends readonly unknown[]> = G extends readonly [SettingsGroup<infer T>, ...infer Rest] ? SettingsValues<T> & ValuesOfGroups<Rest> : unknown;

/** Settings failed validation; the message names every bad variable and its value. */
export class ConfigError extends Error {
  constructor(readonly problems: SettingProblem[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.env}=${JSON.stringify(p.value)} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadSettingsOptions {
  /** Where relative paths resolve; default process.cwd(). */
  cwd?: string;
  /** Whether standard output is a terminal, for the default of NST_LOG_FORMAT; default process.stdout.isTTY. */
  stdoutIsTTY?: boolean;
}

/**
 * Reads and validates every setting of `groups` (in order: the core, whose NST_DATA_DIR the
 * others' defaults derive from, comes first); throws ConfigError naming each bad variable.
 */
export function loadSettings<const G extends readonly SettingsGroup<SettingsTable>[]>(
  groups: G,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadSettingsOptions = {},
): ValuesOfGroups<G> {
  const context: SettingsContext = { cwd: options.cwd ?? process.cwd(), stdoutIsTTY: options.stdoutIsTTY ?? process.stdout.isTTY === true };
  const values: Record<string, unknown> = {};
  const problems: SettingProblem[] = [];
  for (const group of groups) {
    const own: Record<string, unknown> = {};
    let parsedAll = true;
    for (const [key, spec] of Object.entries(group.table)) {
      const given = env[spec.env]?.trim();
      const raw = given ? given : typeof spec.default === 'function' ? spec.default(context) : spec.default;
      if (raw === undefined) {
        own[key] = undefined;
        continue;
      }
      const parsed = spec.schema.safeParse(raw);
      if (!parsed.success) {
        problems.push({ env: spec.env, value: raw, message: parsed.error.issues.map((issue) => issue.message).join(', ') });
        parsedAll = false;
        continue;
      }
      const value = spec.path ? resolve(context.cwd, parsed.data as string) : parsed.data;
      own[key] = Array.isArray(value) ? Object.freeze(value) : value;
      if (spec.env === 'NST_DATA_DIR') context.dataDir = value as string;
    }
    if (parsedAll && group.check) problems.push(...group.check(own as SettingsValues<SettingsTable>));
    Object.assign(values, own);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as ValuesOfGroups<G>;
}

/** A service's loader of its groups: `loadStyleConfig = settingsLoader([CORE_SETTINGS, STORE_SETTINGS, STYLE_SETTINGS])`. */
export function settingsLoader<const G extends readonly SettingsGroup<SettingsTable>[]>(
  groups: G,
): (env?: NodeJS.ProcessEnv, options?: LoadSettingsOptions) => ValuesOfGroups<G> {
  return (env = process.env, options = {}) => loadSettings(groups, env, options);
}

export interface SettingDoc {
  name: string;
  default: string;
  description: string;
}

/** Name, default and description of every setting of a group, in the order they are declared. */
export function settingsDocs(group: SettingsGroup): SettingDoc[] {
  return Object.values(group.table).map((spec) => ({
    name: spec.env,
    default: spec.defaultDoc ?? (typeof spec.default === 'string' ? `\`${spec.default}\`` : '(none)'),
    description: spec.description,
  }));
}

/** The groups' settings as markdown: a heading and a table per group, for the README. */
export function settingsDocsMarkdown(groups: readonly SettingsGroup[]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return groups
    .map((group) => {
      const rows = settingsDocs(group).map((doc) => `| \`${doc.name}\` | ${escape(doc.default)} | ${escape(doc.description)} |`);
      return [`#### ${group.title}`, '', '| Variable | Default | Description |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
    })
    .join('\n');
}
