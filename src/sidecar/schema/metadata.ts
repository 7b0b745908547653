// ObjectMeta checks the API server applies to every custom resource on create
// and update (ValidateObjectMetaAccessor with DNS-1123 subdomain names, for a
// namespaced kind), with Kubernetes' messages. The name checks are written as
// linear scans rather than regexes so that a huge hostile name costs O(n).
import { Buffer } from 'node:buffer';
import type { Violation } from '../violation.js';
import { invalidValue, jsonTypeOf, requiredValue, tooLong, typeInvalid } from './k8s-errors.js';
import { childPath, keyPath } from './paths.js';
import { schemaViolation } from './rules.js';
import { unknownFieldViolation } from './unknown-fields.js';
import { isOwnKey, isRecord, ownValue } from '../../util/json.js';

/** ObjectMeta's JSON field names; anything else under metadata is an unknown field. */
const OBJECT_META_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;
const DNS1123_LABEL_MAX_LENGTH = 63;
const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
const QUALIFIED_NAME_MAX_LENGTH = 63;
const LABEL_VALUE_MAX_LENGTH = 63;

const DNS1123_LABEL_ERROR = regexError(
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  '[a-z0-9]([-a-z0-9]*[a-z0-9])?',
  ['my-name', '123-abc'],
);
const DNS1123_SUBDOMAIN_ERROR = regexError(
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*',
  ['example.com'],
);
const QUALIFIED_NAME_FORMAT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_ERROR = regexError(
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
  QUALIFIED_NAME_FORMAT,
  ['MyName', 'my.name', '123-abc'],
);
const LABEL_VALUE_ERROR = regexError(
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
  `(${QUALIFIED_NAME_FORMAT})?`,
  ['MyValue', 'my_value', '12345'],
);

/** Checks `metadata` (the value of the object's metadata key); returns true when a value has the wrong type. */
export function checkMetadata(metadata: unknown, rejectUnknownFields: boolean, out: Violation[]): boolean {
  if (metadata === undefined || metadata === null) {
    out.push(schemaViolation('meta.name', 'metadata.name', requiredValue('name or generateName is required')));
    return false;
  }
  if (!isRecord(metadata)) {
    out.push(schemaViolation('schema.type', 'metadata', typeInvalid('metadata', 'object', jsonTypeOf(metadata))));
    return true;
  }
  if (rejectUnknownFields) {
    for (const key of Object.keys(metadata)) {
      if (!OBJECT_META_FIELDS.has(key)) out.push(unknownFieldViolation(childPath('metadata', key)));
    }
  }
  let fatal = false;
  const name = stringField(metadata, 'name', out);
  const generateName = stringField(metadata, 'generateName', out);
  const namespace = stringField(metadata, 'namespace', out);
  fatal ||= name === WRONG_TYPE || generateName === WRONG_TYPE || namespace === WRONG_TYPE;
  checkNames(name, generateName, out);
  if (typeof namespace === 'string' && namespace !== '' && !isDnsLabelName(namespace)) {
    for (const msg of dns1123LabelErrors(namespace))
      out.push(schemaViolation('meta.namespace', 'metadata.namespace', invalidValue(namespace, msg)));
  }
  fatal = checkLabels(ownValue(metadata, 'labels'), out) || fatal;
  fatal = checkAnnotations(ownValue(metadata, 'annotations'), out) || fatal;
  return fatal;
}

const WRONG_TYPE = Symbol('wrong type');

/** The string at `key`; '' when absent or null (as Go decodes it); WRONG_TYPE after reporting a non-string. */
function stringField(metadata: Record<string, unknown>, key: string, out: Violation[]): string | typeof WRONG_TYPE {
  const value = ownValue(metadata, key);
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  const path = childPath('metadata', key);
  out.push(schemaViolation('schema.type', path, typeInvalid(path, 'string', jsonTypeOf(value))));
  return WRONG_TYPE;
}

function checkNames(
  name: string | typeof WRONG_TYPE,
  generateName: string | typeof WRONG_TYPE,
  out: Violation[],
): void {
  if (typeof generateName === 'string' && generateName !== '') {
    for (const msg of dns1123SubdomainErrors(maskTrailingDash(generateName))) {
      out.push(schemaViolation('meta.name', 'metadata.generateName', invalidValue(generateName, msg)));
    }
  }
  if (name === WRONG_TYPE) return;
  if (name === '') {
    // With generateName set, the API server generates the name before validating.
    if (generateName === '')
      out.push(schemaViolation('meta.name', 'metadata.name', requiredValue('name or generateName is required')));
    return;
  }
  if (isDnsSubdomainName(name)) return;
  for (const msg of dns1123SubdomainErrors(name))
    out.push(schemaViolation('meta.name', 'metadata.name', invalidValue(name, msg)));
}

// Kubernetes validates a generateName prefix as if its trailing dash were
// followed by generated characters; it replaces the last two characters with
// "a", which we mirror so that the messages agree.
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

function checkLabels(labels: unknown, out: Violation[]): boolean {
  if (mapTypeErrors(labels, 'metadata.labels', out)) return true;
  if (!isRecord(labels)) return false;
  for (const key in labels) {
    if (!isOwnKey(labels, key)) continue;
    const value = mapValue(labels[key]);
    // Nearly every label is valid: told by two scans, without building its path or a message list.
    if (isQualifiedName(key) && isLabelValue(value)) continue;
    const path = keyPath('metadata.labels', key);
    for (const msg of qualifiedNameErrors(key)) out.push(schemaViolation('meta.labels', path, invalidValue(key, msg)));
    for (const msg of labelValueErrors(value)) out.push(schemaViolation('meta.labels', path, invalidValue(value, msg)));
  }
  return false;
}

function checkAnnotations(annotations: unknown, out: Violation[]): boolean {
  if (mapTypeErrors(annotations, 'metadata.annotations', out)) return true;
  if (!isRecord(annotations)) return false;
  let units = 0;
  for (const key in annotations) {
    if (!isOwnKey(annotations, key)) continue;
    // Annotation keys follow the qualified-name rule with case ignored.
    const lowered = lowerCased(key);
    if (!isQualifiedName(lowered)) {
      for (const msg of qualifiedNameErrors(lowered)) {
        out.push(schemaViolation('meta.annotations', keyPath('metadata.annotations', key), invalidValue(key, msg)));
      }
    }
    units += key.length + mapValue(annotations[key]).length;
  }
  if (annotationsTooLong(annotations, units)) {
    out.push(schemaViolation('meta.annotations', 'metadata.annotations', tooLong(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES)));
  }
  return false;
}

/**
 * `key.toLowerCase()`, without the copy V8 makes (and drops) when nothing
 * changes: an ASCII key without capitals is returned as it is.
 */
function lowerCased(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (isUpper(c) || c > 0x7f) return key.toLowerCase();
  }
  return key;
}

/**
 * Whether the annotations' keys and values, `units` UTF-16 units in all, take
 * more than TOTAL_ANNOTATION_SIZE_LIMIT_BYTES in UTF-8. UTF-8 takes 1 to 3
 * bytes per UTF-16 unit (a surrogate pair 4 for 2, a lone surrogate 3), so
 * the bytes are counted only when `units` alone cannot tell.
 */
function annotationsTooLong(annotations: Record<string, unknown>, units: number): boolean {
  if (units * 3 <= TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) return false;
  if (units > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) return true;
  let bytes = 0;
  for (const key in annotations) {
    if (isOwnKey(annotations, key)) bytes += byteLength(key) + byteLength(mapValue(annotations[key]));
  }
  return bytes > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES;
}

/**
 * Type errors of a map[string]string field, reported in key order: a
 * non-object map, or each value that is neither a string nor null (null
 * decodes to ""). True when there was one; absent or null is an empty map.
 */
function mapTypeErrors(value: unknown, path: string, out: Violation[]): boolean {
  if (value === undefined || value === null) return false;
  if (!isRecord(value)) {
    out.push(schemaViolation('schema.type', path, typeInvalid(path, 'object', jsonTypeOf(value))));
    return true;
  }
  let fatal = false;
  for (const key in value) {
    if (!isOwnKey(value, key)) continue;
    const item = value[key];
    if (item === null || item === undefined || typeof item === 'string') continue;
    const itemPath = keyPath(path, key);
    out.push(schemaViolation('schema.type', itemPath, typeInvalid(itemPath, 'string', jsonTypeOf(item))));
    fatal = true;
  }
  return fatal;
}

/** A map[string]string value that passed mapTypeErrors, as Go decodes it. */
const mapValue = (item: unknown): string => (typeof item === 'string' ? item : '');

export function dns1123LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) errors.push(maxLengthError(DNS1123_LABEL_MAX_LENGTH));
  if (!isDnsLabel(value, 0, value.length)) errors.push(DNS1123_LABEL_ERROR);
  return errors;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errors.push(maxLengthError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!isDnsSubdomain(value, 0, value.length)) errors.push(DNS1123_SUBDOMAIN_ERROR);
  return errors;
}

/** Label keys (and lowercased annotation keys): an optional DNS subdomain prefix and '/', then a name part. */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/', 3);
  if (parts.length > 2) {
    return [
      `a qualified name ${QUALIFIED_NAME_ERROR} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const errors: string[] = [];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') errors.push('prefix part must be non-empty');
    else for (const msg of dns1123SubdomainErrors(prefix)) errors.push(`prefix part ${msg}`);
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (byteLength(name) > QUALIFIED_NAME_MAX_LENGTH)
    errors.push(`name part ${maxLengthError(QUALIFIED_NAME_MAX_LENGTH)}`);
  if (!isQualifiedNamePart(name, 0, name.length)) errors.push(`name part ${QUALIFIED_NAME_ERROR}`);
  return errors;
}

export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX_LENGTH) errors.push(maxLengthError(LABEL_VALUE_MAX_LENGTH));
  if (value !== '' && !isQualifiedNamePart(value, 0, value.length)) errors.push(LABEL_VALUE_ERROR);
  return errors;
}

// Nearly every name, label and annotation key is valid. The predicates
// below tell so by one scan that allocates nothing; the *Errors functions
// above, which count UTF-8 bytes and build messages, run only when one says
// no (test/sidecar/schema/metadata.test.ts holds each to its *Errors
// function). A value the formats accept is ASCII, so its length in UTF-16
// units is its length in bytes.

/** Whether dns1123LabelErrors(value) is empty. */
export const isDnsLabelName = (value: string): boolean =>
  value.length <= DNS1123_LABEL_MAX_LENGTH && isDnsLabel(value, 0, value.length);

/** Whether dns1123SubdomainErrors(value) is empty. */
export const isDnsSubdomainName = (value: string): boolean => isSubdomainWithin(value, 0, value.length);

/** Whether qualifiedNameErrors(value) is empty: [subdomain '/'] name part, within their lengths. */
export function isQualifiedName(value: string): boolean {
  const slash = value.indexOf('/');
  const nameStart = slash + 1; // 0 without a prefix
  // A second '/' lands in the name part, which does not allow it.
  if (slash !== -1 && !(slash > 0 && isSubdomainWithin(value, 0, slash))) return false;
  return value.length - nameStart <= QUALIFIED_NAME_MAX_LENGTH && isQualifiedNamePart(value, nameStart, value.length);
}

/** Whether labelValueErrors(value) is empty. */
export const isLabelValue = (value: string): boolean =>
  value === '' || (value.length <= LABEL_VALUE_MAX_LENGTH && isQualifiedNamePart(value, 0, value.length));

/** Whether value[start, end) is a DNS-1123 subdomain within its length. */
const isSubdomainWithin = (value: string, start: number, end: number): boolean =>
  end - start <= DNS1123_SUBDOMAIN_MAX_LENGTH && isDnsSubdomain(value, start, end);

// [a-z0-9]([-a-z0-9]*[a-z0-9])? over value[start, end)
function isDnsLabel(value: string, start: number, end: number): boolean {
  if (end <= start || !isLowerAlnum(value.charCodeAt(start)) || !isLowerAlnum(value.charCodeAt(end - 1))) return false;
  for (let i = start + 1; i < end - 1; i++) {
    const c = value.charCodeAt(i);
    if (!isLowerAlnum(c) && c !== DASH) return false;
  }
  return true;
}

// label(\.label)* over value[start, end)
function isDnsSubdomain(value: string, start: number, end: number): boolean {
  let from = start;
  for (;;) {
    const dot = value.indexOf('.', from);
    const last = dot === -1 || dot >= end;
    if (!isDnsLabel(value, from, last ? end : dot)) return false;
    if (last) return true;
    from = dot + 1;
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over value[start, end)
function isQualifiedNamePart(value: string, start: number, end: number): boolean {
  if (end <= start || !isAlnum(value.charCodeAt(start)) || !isAlnum(value.charCodeAt(end - 1))) return false;
  for (let i = start + 1; i < end - 1; i++) {
    const c = value.charCodeAt(i);
    if (!isAlnum(c) && c !== DASH && c !== UNDERSCORE && c !== DOT) return false;
  }
  return true;
}

const DASH = 0x2d;
const DOT = 0x2e;
const UNDERSCORE = 0x5f;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a;
const isLowerAlnum = (c: number): boolean => isLower(c) || isDigit(c);
const isAlnum = (c: number): boolean => isLower(c) || isUpper(c) || isDigit(c);

// Go's len() counts UTF-8 bytes.
const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

const maxLengthError = (length: number): string => `must be no more than ${length} characters`;

function regexError(message: string, format: string, examples: readonly string[]): string {
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${format}')`;
}
