// PostgreSQL server parameters given as `-c name=value` arguments (internal).
import * as checks from './checks';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Parameters this library sets through its own props. */
const MANAGED: { [name: string]: string } = {
  port: 'set the port prop',
  data_directory: 'set the pgData prop',
  config_file: 'the image keeps postgresql.conf in PGDATA',
  hba_file: 'the image keeps pg_hba.conf in PGDATA',
  ident_file: 'the image keeps pg_ident.conf in PGDATA',
};

/** The container arguments for a set of parameters, in name order so that the output is stable. */
export function parameterArgs(parameters: { [name: string]: string }): string[] {
  return Object.keys(parameters).sort().flatMap((name) => ['-c', `${name}=${parameters[name]}`]);
}

export function checkParameters(problems: checks.Problems, parameters: { [name: string]: string }): void {
  for (const [name, value] of Object.entries(parameters)) {
    if (!NAME.test(name)) {
      problems.add('parameters', name, 'has a name that is not a PostgreSQL parameter name (letters, digits and \'_\', or \'extension.name\')',
        'use the name as in postgresql.conf, e.g. shared_buffers');
    } else if (MANAGED[name.toLowerCase()] !== undefined) {
      problems.add('parameters', name, 'is managed by this construct', MANAGED[name.toLowerCase()]);
    }
    if (typeof value !== 'string' || /[\n\r\0]/.test(value)) {
      problems.add(`parameters['${name}']`, value, 'must be a string on one line', 'give the value as in postgresql.conf, e.g. \'256MB\'');
    }
  }
}
