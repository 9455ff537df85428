/**
 * Schema validation of rendered manifests: each object is checked by the model class of its
 * apiVersion and kind from kubernetes-models (Kubernetes), @kubernetes-models/istio and
 * @kubernetes-models/external-secrets. An object with no model is an error, so nothing ships
 * unchecked.
 */
import type { K8sObject } from './tools';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

function modulePath(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!group) return `kubernetes-models/${version}/${kind}`;
  if (group.endsWith('.istio.io')) return `@kubernetes-models/istio/${group}/${version}/${kind}`;
  if (group === 'external-secrets.io') return `@kubernetes-models/external-secrets/${group}/${version}/${kind}`;
  return `kubernetes-models/${group}/${version}/${kind}`;
}

export async function modelFor(object: Pick<K8sObject, 'apiVersion' | 'kind'>): Promise<ModelClass> {
  const path = modulePath(object.apiVersion, object.kind);
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`no schema for ${object.apiVersion} ${object.kind} (${path}): ${String(error)}`);
  }
  const model = module[object.kind] ?? (module.default as Record<string, unknown> | undefined)?.[object.kind];
  if (typeof model !== 'function') throw new Error(`${path} exports no ${object.kind} model`);
  return model as ModelClass;
}

/** Throws with the object's kind and name when it does not match its schema. */
export async function validateObject(object: K8sObject): Promise<void> {
  const Model = await modelFor(object);
  try {
    new Model(withUnwrappedSecretData(object)).validate();
  } catch (error) {
    throw new Error(`${object.kind} ${object.metadata?.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * kustomize v5 wraps long base64 Secret values at 76 columns; the API server's Go decoder
 * ignores those newlines but the schema's "byte" format does not, so unwrap before checking.
 */
function withUnwrappedSecretData(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || typeof object.data !== 'object' || object.data === null) return object;
  const data = Object.fromEntries(Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\n/g, '')]));
  return { ...object, data };
}
