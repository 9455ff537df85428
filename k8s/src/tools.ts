/**
 * Rendering the overlays with kubectl's kustomize for the shipping checks. Whether kubectl and
 * the linters are present is decided by @nst/runtime/test-tools: a missing one skips its check
 * and lists it at the end of the run, or fails the run under NST_REQUIRE_TEST_TOOLS=1 (CI).
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { K8S_DIR } from './render';

export const OVERLAYS = ['dev', 'prod'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

/**
 * `kubectl kustomize` of an overlay, in a scratch copy of k8s/ whose dev secrets file is the
 * committed example (the real one is gitignored), so the render never depends on local state.
 */
export async function renderOverlay(overlay: Overlay): Promise<K8sObject[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'nst-k8s-'));
  try {
    for (const part of ['base', 'overlays']) await cp(join(K8S_DIR, part), join(scratch, part), { recursive: true });
    await cp(join(scratch, 'overlays/dev/secrets.env.example'), join(scratch, 'overlays/dev/secrets.env'));
    const out = execFileSync('kubectl', ['kustomize', join(scratch, 'overlays', overlay)], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return parseAllDocuments(out).map((doc) => {
      if (doc.errors.length) throw doc.errors[0];
      return doc.toJS() as K8sObject;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
