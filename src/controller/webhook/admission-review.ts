/** The `admission.k8s.io/v1` AdmissionReview wire format: reading requests, writing responses. */
import { isPlainObject } from '../../util/deep-equal.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  operation: AdmissionOperation;
  name?: string;
  namespace?: string;
  /** The object as it would be stored; absent for DELETE. */
  object?: unknown;
  /** The object as stored now; for UPDATE and DELETE. */
  oldObject?: unknown;
  dryRun?: boolean;
  userInfo?: AdmissionUserInfo;
  options?: unknown;
}

export interface AdmissionResult {
  allowed: boolean;
  /** Shown to the user; for a denial, after `admission webhook "<name>" denied the request: `. */
  message?: string;
  /** Shown by kubectl as `Warning: …`, also when the request is allowed. */
  warnings?: string[];
  /** HTTP status of a denial, 403 unless given (the API server turns anything below 400 into 400). */
  code?: number;
  /** A machine-readable reason for a denial, e.g. `Invalid` or `Forbidden`. */
  reason?: string;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code?: number; message?: string; reason?: string };
    warnings?: string[];
  };
}

const OPERATIONS = new Set<string>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/** Checks the decoded body of a review; returns the request, or a one-line reason it is not one. */
export function parseAdmissionReview(body: unknown): { request: AdmissionRequest } | { error: string } {
  if (!isPlainObject(body)) return { error: 'the body is not a JSON object' };
  if (body.kind !== 'AdmissionReview' || body.apiVersion !== ADMISSION_API_VERSION) {
    return {
      error: `expected an ${ADMISSION_API_VERSION} AdmissionReview, got ${String(body.apiVersion)} ${String(body.kind)}`,
    };
  }
  const request = body.request;
  if (!isPlainObject(request)) return { error: 'the AdmissionReview has no request' };
  if (typeof request.uid !== 'string' || !request.uid) {
    return { error: 'the AdmissionReview request has no uid' };
  }
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    return {
      error: `the AdmissionReview request has an unknown operation ${JSON.stringify(request.operation)}`,
    };
  }
  if (!isGroupVersion(request.kind, 'kind') || !isGroupVersion(request.resource, 'resource')) {
    return { error: 'the AdmissionReview request lacks kind or resource' };
  }
  return { request: request as unknown as AdmissionRequest };
}

function isGroupVersion(value: unknown, last: 'kind' | 'resource'): boolean {
  return (
    isPlainObject(value) &&
    typeof value.group === 'string' &&
    typeof value.version === 'string' &&
    typeof value[last] === 'string'
  );
}

/** The response review for a request's uid. */
export function admissionResponse(uid: string, result: AdmissionResult): AdmissionReviewResponse {
  const response: AdmissionReviewResponse['response'] = { uid, allowed: result.allowed };
  if (!result.allowed) {
    response.status = {
      code: result.code ?? 403,
      message: result.message ?? 'denied by the Portico webhook',
    };
    if (result.reason) response.status.reason = result.reason;
  } else if (result.message || result.code) {
    response.status = { code: result.code ?? 200, message: result.message };
  }
  if (result.warnings?.length) response.warnings = result.warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
