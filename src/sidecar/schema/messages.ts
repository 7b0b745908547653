// Ajv error -> violation with the API server's path and wording.
import type { ErrorObject } from 'ajv';
import type { Violation } from '../violation.js';
import {
  goFloat,
  goNumber,
  invalidOmittedValue,
  invalidValue,
  jsonTypeOf,
  notSupported,
  requiredValue,
  tooLong,
  tooMany,
  typeInvalid,
} from './k8s-errors.js';
import { childPath, indexPath, keyPath } from './paths.js';
import { schemaViolation } from './rules.js';
import type { SchemaNode } from './schema-node.js';

export const CEL_KEYWORD = 'x-kubernetes-validations';
/** Our keyword beside `type: integer`: the value must also fit an int64 (see index.ts). */
export const INT64_KEYWORD = 'x-sidecar-guard-int64';

/** What the CEL keyword puts in an Ajv error's params. */
export interface CelErrorParams {
  readonly message: string;
  /** Set when the expression raised an error instead of returning false. */
  readonly evalError?: string;
  /** The JSON type of `self` in the schema. */
  readonly selfType: 'string' | 'object';
}

/** Where an Ajv error points: the kubectl path, the schema and value there, and the parent's schema. */
interface Location {
  readonly path: string;
  readonly node: SchemaNode | undefined;
  readonly data: unknown;
  readonly parent: SchemaNode | undefined;
  /** The last path step when it named an object property (not an index or a map key). */
  readonly property: string | undefined;
}

export interface Described {
  readonly violation: Violation;
  /** The value has a wrong JSON type (not null), so later rules cannot read it. */
  readonly fatal: boolean;
  /**
   * An error of a kind that keeps the API server from running CEL rules at
   * all (apiextensions' hasBlockingErr: type, required, enum, too long, too many).
   */
  readonly blocking: boolean;
}

/**
 * Describes one Ajv error. `root` is the validated value (the spec), `rootPath`
 * its kubectl path ("spec") and `rootSchema` the schema it was validated with.
 */
export function describeAjvError(
  error: ErrorObject,
  root: unknown,
  rootPath: string,
  rootSchema: SchemaNode,
): Described {
  const at = locate(error.instancePath, root, rootPath, rootSchema);
  switch (error.keyword) {
    case 'required': {
      const missing = String((error.params as { missingProperty?: unknown }).missingProperty);
      return blocking(schemaViolation('schema.required', childPath(at.path, missing), requiredValue()));
    }
    case 'type':
      return describeTypeError(at);
    case 'enum': {
      const supported = (at.node?.enum ?? []).filter((v): v is string => v !== null);
      return blocking(schemaViolation('schema.enum', at.path, notSupported(at.data, supported)));
    }
    case 'minimum':
      return plain(
        schemaViolation(
          'schema.range',
          at.path,
          invalidValue(
            at.data,
            `${at.path} in body should be greater than or equal to ${bound(at.node?.minimum, at.data)}`,
          ),
        ),
      );
    case 'maximum':
      return plain(
        schemaViolation(
          'schema.range',
          at.path,
          invalidValue(
            at.data,
            `${at.path} in body should be less than or equal to ${bound(at.node?.maximum, at.data)}`,
          ),
        ),
      );
    case INT64_KEYWORD:
      // A JSON number that is no int64 (1e300) is a float64 to the API server, so not an integer.
      return {
        violation: schemaViolation('schema.type', at.path, typeInvalid(at.path, 'integer', 'number')),
        fatal: true,
        blocking: true,
      };
    case 'maxLength':
      return blocking(schemaViolation('schema.length', at.path, tooLong(at.node?.maxLength ?? -1)));
    case 'minItems':
      return plain(
        schemaViolation(
          'schema.length',
          at.path,
          invalidValue(lengthOf(at.data), `${at.path} in body should have at least ${at.node?.minItems} items`),
        ),
      );
    case 'maxItems':
      return blocking(schemaViolation('schema.length', at.path, tooMany(lengthOf(at.data), at.node?.maxItems ?? -1)));
    case 'maxProperties':
      return blocking(
        schemaViolation('schema.length', at.path, tooMany(propertyCount(at.data), at.node?.maxProperties ?? -1)),
      );
    case CEL_KEYWORD:
      return plain(schemaViolation('schema.cel', at.path, celMessage(error.params as CelErrorParams, at.data)));
    default:
      // Not reachable with the generated schema; reported rather than dropped.
      return plain(
        schemaViolation('schema.type', at.path, invalidValue(at.data, `failed schema keyword ${error.keyword}`)),
      );
  }
}

function describeTypeError(at: Location): Described {
  // A required property holding null: the API server prunes the null first and
  // then finds the property missing.
  if (at.data === null && at.property !== undefined && at.parent?.required?.includes(at.property) === true) {
    return blocking(schemaViolation('schema.required', at.path, requiredValue()));
  }
  const expected = at.node?.type ?? 'object';
  return {
    violation: schemaViolation('schema.type', at.path, typeInvalid(at.path, expected, jsonTypeOf(at.data))),
    fatal: at.data !== null && at.data !== undefined,
    blocking: true,
  };
}

function celMessage(params: CelErrorParams, data: unknown): string {
  if (params.evalError !== undefined)
    return invalidValue(params.selfType, `${params.evalError} evaluating rule: ${params.message}`);
  // The API server shows a scalar's value but omits objects and lists.
  return params.selfType === 'object' ? invalidOmittedValue(params.message) : invalidValue(data, params.message);
}

/** A bound as the API server prints it: compared as a float64 when the value is one (4.294967295e+09). */
function bound(limit: number | undefined, value: unknown): string {
  if (limit === undefined) return 'undefined';
  return jsonTypeOf(value) === 'number' ? goFloat(limit) : goNumber(limit);
}

const plain = (violation: Violation): Described => ({ violation, fatal: false, blocking: false });
const blocking = (violation: Violation): Described => ({ violation, fatal: false, blocking: true });

/** Follows a JSON pointer through the value and the schema side by side. */
function locate(pointer: string, root: unknown, rootPath: string, rootSchema: SchemaNode): Location {
  let path = rootPath;
  let node: SchemaNode | undefined = rootSchema;
  let parent: SchemaNode | undefined;
  let data: unknown = root;
  let property: string | undefined;
  if (pointer !== '') {
    for (const raw of pointer.slice(1).split('/')) {
      const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      parent = node;
      property = undefined;
      if (Array.isArray(data)) {
        path = indexPath(path, segment);
        node = node?.items;
        data = data[Number(segment)];
        continue;
      }
      const properties = node?.properties;
      if (properties !== undefined && Object.hasOwn(properties, segment)) {
        path = childPath(path, segment);
        node = properties[segment];
        property = segment;
      } else if (typeof node?.additionalProperties === 'object') {
        path = keyPath(path, segment);
        node = node.additionalProperties;
      } else {
        path = childPath(path, segment);
        node = undefined;
      }
      data = ownValue(data, segment);
    }
  }
  return { path, node, data, parent, property };
}

function ownValue(container: unknown, key: string): unknown {
  if (typeof container !== 'object' || container === null) return undefined;
  return Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}

const lengthOf = (value: unknown): number => (Array.isArray(value) ? value.length : 0);

const propertyCount = (value: unknown): number =>
  typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
