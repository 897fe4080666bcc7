// PostgreSQL server parameters given as `-c name=value` arguments (internal).
//
// PostgreSQL compares parameter names without regard to case, so they are normalised to lower
// case once (resolve) and every check and default looks at the normalised names.
import { Problems } from './problems';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Parameters this library sets through its own props. */
const MANAGED: { [name: string]: string } = {
  port: 'set the port prop',
  data_directory: 'set the pgData prop',
  config_file: 'the image keeps postgresql.conf in PGDATA',
  hba_file: 'the image keeps pg_hba.conf in PGDATA',
  ident_file: 'the image keeps pg_ident.conf in PGDATA',
  listen_addresses: 'the pods must listen on their own address for the Services and the probes',
  unix_socket_directories: 'the image and the probes use /var/run/postgresql',
};

/** Values PostgreSQL accepts for enumerated parameters this library reads. */
const ENUMS: { [name: string]: string[] } = {
  password_encryption: ['scram-sha-256', 'md5'],
};

/** The parameters with lower-case names; of names that differ only by case, the first is kept (and reported). */
export function normaliseParameters(parameters: { [name: string]: string } = {}): { [name: string]: string } {
  const normalised: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(parameters)) {
    const lower = name.toLowerCase();
    if (!(lower in normalised)) {
      normalised[lower] = value;
    }
  }
  return normalised;
}

/** The container arguments for a set of parameters, in name order so that the output is stable. */
export function parameterArgs(parameters: { [name: string]: string }): string[] {
  return Object.keys(parameters).sort().flatMap((name) => ['-c', `${name}=${parameters[name]}`]);
}

/** Checks the parameters as the caller wrote them. */
export function checkParameters(problems: Problems, parameters: { [name: string]: string }): void {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(parameters)) {
    const lower = name.toLowerCase();
    if (!NAME.test(name)) {
      problems.add('parameters', name, 'has a name that is not a PostgreSQL parameter name (letters, digits and \'_\', or \'extension.name\')',
        'use the name as in postgresql.conf, e.g. shared_buffers');
    } else if (MANAGED[lower] !== undefined) {
      problems.add('parameters', name, 'is managed by this construct', MANAGED[lower]);
    }
    const earlier = seen.get(lower);
    if (earlier !== undefined) {
      problems.add('parameters', name, `names the same parameter as '${earlier}' (PostgreSQL parameter names are case-insensitive)`,
        'give each parameter once');
    }
    seen.set(lower, name);
    if (typeof value !== 'string' || /[\n\r\0]/.test(value)) {
      problems.add(`parameters['${name}']`, value, 'must be a string on one line', 'give the value as in postgresql.conf, e.g. \'256MB\'');
    } else if (ENUMS[lower] && !ENUMS[lower].includes(value.toLowerCase())) {
      problems.add(`parameters['${name}']`, value, `must be one of ${ENUMS[lower].map((v) => `'${v}'`).join(', ')}`,
        `use '${ENUMS[lower][0]}' (the default from PostgreSQL 14)`);
    }
  }
}

/** A parameter that must be a positive integer, when given; its value as a number, or undefined. */
export function integerParameter(parameters: { [name: string]: string }, name: string): number | undefined {
  const value = parameters[name];
  return value !== undefined && /^\s*\d+\s*$/.test(value) ? Number(value) : undefined;
}
