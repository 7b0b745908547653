// Decoding of the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`)
// for the few built-in kinds kubectl's typed clients send that way: `kubectl
// create namespace|secret|configmap` POST protobuf bodies, not JSON. Responses
// are always JSON (kubectl's Accept header lists it as a fallback).
//
// An envelope is the magic `k8s\0` followed by a runtime.Unknown message
// {typeMeta{apiVersion, kind}, raw}; `raw` is the object's own message. Field
// numbers below are those of k8s.io/api's generated.proto files. Go encodes
// every non-pointer field, so empty strings, zero numbers and empty messages
// are dropped to get the JSON (omitempty) shape.

import { failure } from './status.js';

type FieldType = 'string' | 'bytes' | 'int64' | 'bool' | 'time' | MessageSchema | MapType;
interface MapType {
  map: ['string', 'string' | 'bytes'];
}
interface FieldSpec {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type MessageSchema = { [field: number]: FieldSpec };

const OWNER_REFERENCE: MessageSchema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const OBJECT_META: MessageSchema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int64' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
  11: { name: 'labels', type: { map: ['string', 'string'] } },
  12: { name: 'annotations', type: { map: ['string', 'string'] } },
  13: { name: 'ownerReferences', type: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const KINDS: Record<string, MessageSchema> = {
  'v1/Namespace': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
    3: { name: 'status', type: { 1: { name: 'phase', type: 'string' } } },
  },
  'v1/Secret': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: { map: ['string', 'bytes'] } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: ['string', 'string'] } },
    5: { name: 'immutable', type: 'bool' },
  },
  'v1/ConfigMap': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: { map: ['string', 'string'] } },
    3: { name: 'binaryData', type: { map: ['string', 'bytes'] } },
    4: { name: 'immutable', type: 'bool' },
  },
};

const TYPE_META: MessageSchema = { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } };

interface RawField {
  field: number;
  wire: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++];
    if (byte === undefined) throw new Error('truncated varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function readFields(buf: Buffer): RawField[] {
  const out: RawField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    pos = next;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p] = readVarint(buf, pos);
      pos = p;
      out.push({ field, wire, varint: v });
    } else if (wire === 2) {
      const [len, p] = readVarint(buf, pos);
      const end = p + Number(len);
      out.push({ field, wire, bytes: buf.subarray(p, end) });
      pos = end;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function decodeScalar(f: RawField, type: 'string' | 'bytes' | 'int64' | 'bool'): unknown {
  switch (type) {
    case 'string':
      return f.bytes?.toString('utf8') ?? '';
    case 'bytes':
      return (f.bytes ?? Buffer.alloc(0)).toString('base64');
    case 'int64':
      return Number(BigInt.asIntN(64, f.varint ?? 0n));
    case 'bool':
      return (f.varint ?? 0n) !== 0n;
  }
}

function decodeTime(buf: Buffer): string | undefined {
  let seconds = 0;
  for (const f of readFields(buf)) if (f.field === 1) seconds = Number(BigInt.asIntN(64, f.varint ?? 0n));
  if (seconds === 0) return undefined;
  return new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function decodeValue(f: RawField, type: FieldType): unknown {
  if (typeof type === 'string') {
    if (type === 'time') return decodeTime(f.bytes ?? Buffer.alloc(0));
    return decodeScalar(f, type);
  }
  return decodeMessage(f.bytes ?? Buffer.alloc(0), type as MessageSchema);
}

function decodeMessage(buf: Buffer, schema: MessageSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of readFields(buf)) {
    const spec = schema[f.field];
    if (!spec) continue;
    if (typeof spec.type === 'object' && 'map' in spec.type) {
      const entry = readFields(f.bytes ?? Buffer.alloc(0));
      const key = entry.find((e) => e.field === 1);
      const value = entry.find((e) => e.field === 2);
      out[spec.name] ??= {};
      const map = out[spec.name] as Record<string, unknown>;
      map[key?.bytes?.toString('utf8') ?? ''] = value ? decodeScalar(value, spec.type.map[1]) : '';
      continue;
    }
    const value = decodeValue(f, spec.type);
    if (spec.repeated) {
      out[spec.name] ??= [];
      (out[spec.name] as unknown[]).push(value);
    } else if (!isEmpty(value)) out[spec.name] = value;
  }
  return out;
}

/** Decodes a protobuf request body into the object's JSON form, or fails with 415 for kinds not known here. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0') {
    throw failure(
      400,
      'BadRequest',
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  }
  const envelope = readFields(body.subarray(4));
  const typeMetaField = envelope.find((f) => f.field === 1);
  const rawField = envelope.find((f) => f.field === 2);
  const typeMeta = decodeMessage(typeMetaField?.bytes ?? Buffer.alloc(0), TYPE_META) as {
    apiVersion?: string;
    kind?: string;
  };
  const schema = KINDS[`${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`];
  if (!schema) {
    throw failure(
      415,
      'UnsupportedMediaType',
      `the test API server decodes protobuf only for ${Object.keys(KINDS).join(', ')}, not ${typeMeta.apiVersion}/${typeMeta.kind}`,
    );
  }
  const obj = decodeMessage(rawField?.bytes ?? Buffer.alloc(0), schema);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...obj };
}

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
