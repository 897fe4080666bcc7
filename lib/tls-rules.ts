// Validate: the rules of the TLS props (internal), registered in validate.ts. Secrets defined in
// this app (cdk8s-plus `Secret`, `TlsSecret`) are checked for the keys the pods read and for their
// namespace; Secrets referenced by name (`Secret.fromSecretName()`) are known to the cluster only.
import * as kplus from 'cdk8s-plus-27';
import * as formats from './formats';
import { Problems } from './problems';
import { PostgresStatefulSetProps } from './props';
import { DEFAULT_TLS_CA_KEY, InstanceSpec } from './resolve';
import { TLS_PARAMETERS } from './tls';

interface Context {
  readonly spec: InstanceSpec;
  readonly props: PostgresStatefulSetProps;
  readonly problems: Problems;
}

const SET_TLS_SECRET = 'set tlsSecret to the kubernetes.io/tls Secret of the server certificate (e.g. the one a PostgresCertificate has cert-manager write)';

/** The TLS props: a Secret, names, keys the pods read, the parameters TLS manages. */
export function tls({ spec, props, problems }: Context): void {
  const parameters = spec.parameters;
  if (!spec.tls) {
    for (const prop of ['tlsRequired', 'tlsCaSecret', 'tlsCaKey'] as const) {
      if (props[prop] !== undefined) {
        problems.add(prop, describe(props[prop]), 'only applies with TLS, but tlsSecret is not set', `${SET_TLS_SECRET}, or remove ${prop}`);
      }
    }
    if (parameters.ssl !== undefined && isOn(parameters.ssl)) {
      problems.add('parameters[\'ssl\']', parameters.ssl, 'turns TLS on without a certificate and key (the image has none, so PostgreSQL would not start)',
        `${SET_TLS_SECRET} instead`);
    }
    return;
  }

  for (const name of Object.keys(TLS_PARAMETERS).filter((n) => parameters[n] !== undefined)) {
    problems.add(`parameters['${name}']`, parameters[name], 'is managed with tlsSecret (the server reads a copy of the Secret\'s files)',
      `remove it from parameters${name === 'ssl' ? ', or remove tlsSecret to turn TLS off' : ''}`);
  }
  const { secret, caSecret, caKey } = spec.tls;
  problems.check('tlsSecret', secret.name, formats.dns1123Subdomain(secret.name), 'give the name of a Secret: lowercase letters, digits, \'-\' and \'.\'');
  if (caSecret !== secret) {
    problems.check('tlsCaSecret', caSecret.name, formats.dns1123Subdomain(caSecret.name), 'give the name of a Secret: lowercase letters, digits, \'-\' and \'.\'');
  }
  if (props.tlsCaKey !== undefined) {
    problems.check('tlsCaKey', props.tlsCaKey, formats.secretKey(props.tlsCaKey), `use the key of the CA certificate in the Secret, usually '${DEFAULT_TLS_CA_KEY}'`);
  }

  // Secrets defined in this app: the keys the pods mount, and a namespace the pods can mount them from
  for (const missing of ['tls.crt', 'tls.key'].filter((key) => lacks(secret, key))) {
    problems.add('tlsSecret', secret.name, `has no key '${missing}': the pods read the server certificate and key under 'tls.crt' and 'tls.key'`,
      'use a Secret of type kubernetes.io/tls (kplus.TlsSecret, or the one cert-manager writes)');
  }
  if (lacks(caSecret, caKey)) {
    const prop = caSecret === secret ? 'tlsSecret' : 'tlsCaSecret';
    problems.add(prop, caSecret.name, `has no key '${caKey}': the CA certificate that standbys and clients verify the server with cannot be found`,
      caSecret === secret
        ? `add the CA certificate to the Secret under '${caKey}', or give the Secret that holds it as tlsCaSecret (and its key as tlsCaKey)`
        : 'add the CA certificate to that Secret, or set tlsCaKey to the key that holds it');
  }
  for (const [prop, s] of [['tlsSecret', secret], ['tlsCaSecret', caSecret]] as const) {
    const namespace = s instanceof kplus.Secret ? s.metadata.namespace : undefined;
    if (namespace !== undefined && spec.effectiveNamespace !== undefined && namespace !== spec.effectiveNamespace && (prop === 'tlsSecret' || s !== secret)) {
      problems.add(prop, s.name, `is in namespace '${namespace}', but the database in '${spec.effectiveNamespace}': a pod mounts Secrets of its own namespace only`,
        `define the Secret in namespace '${spec.effectiveNamespace}'`);
    }
  }
}

/** Whether a Secret defined in this app lacks a key (a Secret referenced by name may have any). */
function lacks(secret: kplus.ISecret, key: string): boolean {
  return secret instanceof kplus.Secret && secret.getStringData(key) === undefined;
}

/** PostgreSQL's spellings of a true boolean parameter value: on, true, yes, 1, and unique prefixes of them. */
function isOn(value: string): boolean {
  const v = value.trim().toLowerCase();
  return v === '1' || v === 'on' || (v.length > 0 && ('true'.startsWith(v) || 'yes'.startsWith(v)));
}

/** A prop value as the caller wrote it, a Secret by its name. */
function describe(value: unknown): unknown {
  return typeof value === 'object' && value !== null && typeof (value as kplus.ISecret).name === 'string'
    ? `Secret ${(value as kplus.ISecret).name}` : value;
}
