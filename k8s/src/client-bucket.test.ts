/**
 * The sticky-canary bucket computed in the cluster (the Lua in base/istio/client-bucket.yaml,
 * run by every sidecar) equals the local router's (@nst/runtime/routing bucketOf): FNV-1a 32-bit over the
 * client id's UTF-8 bytes, mod 100. The Lua runs here under LuaJIT, the Lua of Envoy, with a
 * stand-in for Envoy's request handle.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bucketOf, fnv1a32 } from '@nst/runtime/routing';
import { hasTool, needTool } from '@nst/runtime/test-tools';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { K8S_DIR } from './render';

/** An independent FNV-1a 32 (BigInt arithmetic, no Math.imul), to check the others against. */
function referenceFnv1a32(text: string): number {
  let hash = 0x811c9dc5n;
  for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x01000193n) % 0x100000000n;
  return Number(hash);
}

const SAMPLES = ['', 'a', 'foobar', 'client-42', 'ünïcödé ✓ 😀', 'x'.repeat(300), ...Array.from({ length: 200 }, (_, i) => `browser-${i * 7919}`)];

async function luaSource(): Promise<string> {
  const filter = parse(await readFile(join(K8S_DIR, 'base/istio/client-bucket.yaml'), 'utf8'));
  return filter.spec.configPatches[0].patch.value.typed_config.default_source_code.inline_string as string;
}

/** Runs the filter's Lua on each client id (and once with none); returns hash and header per id. */
function runLua(source: string, ids: string[]): { hashes: number[]; buckets: (string | null)[] } {
  const literal = (s: string) => `"${[...Buffer.from(s, 'utf8')].map((b) => `\\${b}`).join('')}"`;
  const harness = `
${source}
local function handle(id)
  local h = { values = { ["x-nst-bucket"] = "99" } }
  if id ~= nil then h.values["x-nst-client-id"] = id end
  function h:get(k) return self.values[k] end
  function h:replace(k, v) self.values[k] = v end
  function h:remove(k) self.values[k] = nil end
  envoy_on_request({ headers = function() return h end })
  return h.values["x-nst-bucket"]
end
for _, id in ipairs({ ${ids.map(literal).join(', ')} }) do
  print(string.format("%d %s", nst_fnv1a32(id), handle(id)))
end
print(tostring(handle(nil)))
`;
  const run = spawnSync('luajit', ['-'], { input: harness, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`luajit failed: ${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  const none = lines.pop();
  return {
    hashes: lines.map((l) => Number(l.split(' ')[0])),
    buckets: [...lines.map((l) => l.split(' ')[1] ?? null), none === 'nil' ? null : (none ?? '?')],
  };
}

describe('client bucket (FNV-1a 32 mod 100)', () => {
  it('the TypeScript hashes match the published FNV-1a vectors', () => {
    for (const fn of [referenceFnv1a32, fnv1a32]) {
      expect(fn('')).toBe(0x811c9dc5);
      expect(fn('a')).toBe(0xe40c292c);
      expect(fn('foobar')).toBe(0xbf9cf968);
    }
    for (const id of SAMPLES) expect(fnv1a32(id)).toBe(referenceFnv1a32(id));
  });

  it.skipIf(!needTool('Envoy Lua filter check', 'luajit', hasTool('luajit', ['-v'])))('the Envoy Lua filter computes the same hash and bucket header as the local router', async () => {
    const { hashes, buckets } = runLua(await luaSource(), SAMPLES);
    expect(hashes.slice(0, 3)).toEqual([0x811c9dc5, 0xe40c292c, 0xbf9cf968]);
    expect(hashes).toEqual(SAMPLES.map(referenceFnv1a32));
    expect(buckets.slice(0, -1)).toEqual(SAMPLES.map((id) => String(bucketOf(id))));
    // No client id: a bucket the client sent is removed, not trusted.
    expect(buckets.at(-1)).toBeNull();
  });
});
