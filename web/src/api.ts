/**
 * gRPC-Web clients of the platform, generated from the same protos as the services (src/gen,
 * by `npm run generate`). They call the page's own origin: the fastify gateway locally, Envoy
 * in the cluster, both on the same wire protocol.
 */
import { createChannel, createClient, FetchTransport, Metadata } from 'nice-grpc-web';
import { StyleServiceDefinition, type StyleServiceClient } from './gen/nst/v1/style_service';
import { ReleaseServiceDefinition, type ReleaseServiceClient } from './gen/nst/v1/release_service';
import { TrainerServiceDefinition, type TrainerServiceClient } from './gen/nst/v1/trainer_service';

const channel = createChannel(window.location.origin, FetchTransport());

export const styleService: StyleServiceClient = createClient(StyleServiceDefinition, channel);
export const trainerService: TrainerServiceClient = createClient(TrainerServiceDefinition, channel);
export const releaseService: ReleaseServiceClient = createClient(ReleaseServiceDefinition, channel);

const CLIENT_ID_KEY = 'nst.clientId';
const ADMIN_TOKEN_KEY = 'nst.adminToken';
const OPERATOR_TOKEN_KEY = 'nst.operatorToken';

/**
 * The metadata key of an operator's identity: in the cluster, Istio lets admin calls through
 * only with a Kubernetes token of the nst-operator account (k8s/base/istio/security.yaml);
 * `authorization` stays the services' own admin token.
 */
export const OPERATOR_TOKEN_HEADER = 'x-nst-operator-jwt';

/** A random id for this browser: sticky version routing and feedback attribution. */
export function clientId(): string {
  let id = localStorage.getItem(CLIENT_ID_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(CLIENT_ID_KEY, id);
  }
  return id;
}

/** The admin token lives for the tab's session only. */
export function adminToken(): string {
  return sessionStorage.getItem(ADMIN_TOKEN_KEY) ?? '';
}

export function setAdminToken(token: string): void {
  if (token) sessionStorage.setItem(ADMIN_TOKEN_KEY, token);
  else sessionStorage.removeItem(ADMIN_TOKEN_KEY);
}

/**
 * The operator token (`kubectl -n nst create token nst-operator --audience nst-admin`) lives for
 * the tab's session only, like the admin token; it is sent on admin calls alone.
 */
export function operatorToken(): string {
  return sessionStorage.getItem(OPERATOR_TOKEN_KEY) ?? '';
}

export function setOperatorToken(token: string): void {
  if (token) sessionStorage.setItem(OPERATOR_TOKEN_KEY, token);
  else sessionStorage.removeItem(OPERATOR_TOKEN_KEY);
}

/** Metadata every call carries; `deadlineSeconds` becomes grpc-timeout. */
export function callMetadata(options: { admin?: boolean; deadlineSeconds?: number; style?: string } = {}): Metadata {
  const metadata = Metadata({ 'x-nst-client-id': clientId() });
  if (options.style) metadata.set('x-nst-style', options.style);
  if (options.admin && adminToken()) metadata.set('authorization', `Bearer ${adminToken()}`);
  if (options.admin && operatorToken()) metadata.set(OPERATOR_TOKEN_HEADER, operatorToken());
  if (options.deadlineSeconds) metadata.set('grpc-timeout', `${Math.ceil(options.deadlineSeconds)}S`);
  return metadata;
}

export function thumbnailUrl(style: string): string {
  return `/styles/${encodeURIComponent(style)}/thumbnail.jpg`;
}
