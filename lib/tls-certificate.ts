import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as cm from '../imports/cert-manager.io';
import * as formats from './formats';
import { PostgresStatefulSet } from './postgres-stateful-set';
import { Problems } from './problems';

/**
 * The cert-manager issuer that signs a certificate: an `Issuer` in the certificate's namespace,
 * a `ClusterIssuer`, or an issuer of another kind and API group (an external issuer).
 *
 * @see https://cert-manager.io/docs/concepts/issuer/
 */
export class CertManagerIssuer {
  /**
   * An `Issuer` (group `cert-manager.io`) in the database's namespace.
   *
   * @param name the Issuer's name
   */
  public static issuer(name: string): CertManagerIssuer {
    return new CertManagerIssuer(name, 'Issuer', 'cert-manager.io');
  }

  /**
   * A `ClusterIssuer` (group `cert-manager.io`).
   *
   * @param name the ClusterIssuer's name
   */
  public static clusterIssuer(name: string): CertManagerIssuer {
    return new CertManagerIssuer(name, 'ClusterIssuer', 'cert-manager.io');
  }

  /**
   * An issuer of any kind and API group, such as an external issuer
   * (`AWSPCAClusterIssuer` of `awspca.cert-manager.io`).
   *
   * @param name the issuer's name
   * @param kind its kind
   * @param group its API group
   */
  public static of(name: string, kind: string, group: string): CertManagerIssuer {
    return new CertManagerIssuer(name, kind, group);
  }

  /** Name of the issuer. */
  public readonly name: string;

  /** Kind of the issuer. */
  public readonly kind: string;

  /** API group of the issuer. */
  public readonly group: string;

  private constructor(name: string, kind: string, group: string) {
    this.name = name;
    this.kind = kind;
    this.group = group;
  }
}

/**
 * Properties of a `PostgresCertificate`.
 */
export interface PostgresCertificateProps {
  /**
   * The database the certificate is for. It must serve TLS (`tlsSecret`): cert-manager writes
   * the certificate, its key and the issuing CA (`ca.crt`) into that Secret.
   */
  readonly database: PostgresStatefulSet;

  /** The issuer that signs the certificate. */
  readonly issuer: CertManagerIssuer;

  /**
   * More DNS names for the certificate, e.g. a name clients outside the cluster use.
   *
   * @default - none: the names of the database's Services and pods only
   */
  readonly extraDnsNames?: string[];

  /**
   * The certificate's requested lifetime, at least an hour (the issuer may ignore it).
   *
   * @default - cert-manager's default, 90 days
   */
  readonly duration?: Duration;

  /**
   * How long before it expires the certificate is renewed, at least 5 minutes and less than `duration`.
   *
   * @default - cert-manager's default, a third of the lifetime
   */
  readonly renewBefore?: Duration;
}

/**
 * A cert-manager `Certificate` for a `PostgresStatefulSet` that serves TLS: cert-manager issues it
 * into the database's `tlsSecret` and renews it; the pods load the renewed certificate without a
 * restart.
 *
 * The certificate names every host a client or standby connects to, short and fully qualified:
 * the headless Service, the read-write and read-only Services (with replication), and every pod
 * behind the headless Service (`<statefulSet>-<ordinal>.<service>`, which standbys verify the
 * primary by). Its key is ECDSA P-256, renewed with the certificate, and it is for TLS servers
 * only (`server auth`). Without a namespace (neither on the chart nor in the database's
 * metadata) only the short names are known: give the database a namespace so that the
 * certificate names the fully qualified ones too.
 *
 * cert-manager must be installed in the cluster; the database's pods start once the Secret exists.
 *
 * @see https://cert-manager.io/docs/usage/certificate/
 */
export class PostgresCertificate extends Construct {
  /**
   * The DNS names a certificate of the database must hold, in the order `PostgresCertificate`
   * writes them: each Service, then each pod, each short and then qualified with the namespace,
   * `svc` and the cluster domain. Useful for certificates issued by other means.
   */
  public static dnsNamesOf(database: PostgresStatefulSet): string[] {
    const qualified = (name: string) => database.namespace === undefined ? [name]
      : [name, `${name}.${database.namespace}`, `${name}.${database.namespace}.svc`, `${name}.${database.namespace}.svc.${database.clusterDomain}`];
    const services = [database.serviceName, database.readWriteServiceName, database.readOnlyServiceName].filter((s): s is string => s !== undefined);
    const replicas = Number.isInteger(database.replicas) ? Math.max(0, database.replicas) : 0;
    const pods = Array.from({ length: replicas }, (_, ordinal) => `${database.statefulSetName}-${ordinal}.${database.serviceName}`);
    return [...services, ...pods].flatMap(qualified);
  }

  /** The Certificate. */
  public readonly certificate: ApiObject;

  /** Name of the Secret cert-manager writes the certificate into: the database's `tlsSecretName`. */
  public readonly secretName: string;

  /** The certificate's DNS names. */
  public readonly dnsNames: string[];

  constructor(scope: Construct, id: string, props: PostgresCertificateProps) {
    super(scope, id);
    const { database, issuer } = props;
    const problems = Problems.of(this, 'PostgresCertificate');
    if (database.tlsSecretName === undefined) {
      problems.add('database', database.node.path, 'does not serve TLS (no tlsSecret), so it would not read the certificate',
        'give the database tlsSecret, e.g. kplus.Secret.fromSecretName(this, \'OrdersTls\', \'orders-tls\'): cert-manager writes the certificate into it');
    }
    problems.check('issuer name', issuer.name, formats.dns1123Subdomain(issuer.name), 'give the name of the issuer');
    problems.check('issuer kind', issuer.kind, /^[A-Z][A-Za-z0-9]*$/.test(issuer.kind) ? undefined : 'must be a kind such as ClusterIssuer',
      'use CertManagerIssuer.issuer() or clusterIssuer(), or the kind of an external issuer');
    problems.check('issuer group', issuer.group, formats.dns1123Subdomain(issuer.group), 'give the API group of the issuer, e.g. cert-manager.io');
    for (const name of props.extraDnsNames ?? []) {
      problems.check('extraDnsNames', name, formats.dns1123Subdomain(name.startsWith('*.') ? name.slice(2) : name),
        'give DNS names such as db.example.com (a wildcard only as the first label: *.example.com)');
    }
    const seconds = (d: Duration) => d.toSeconds({ integral: false });
    if (props.duration !== undefined) {
      problems.check('duration', props.duration, seconds(props.duration) >= 3600 ? undefined : 'must be at least an hour (cert-manager\'s minimum)',
        'e.g. Duration.days(90)');
    }
    if (props.renewBefore !== undefined) {
      const renew = seconds(props.renewBefore);
      problems.check('renewBefore', props.renewBefore,
        renew < 300 ? 'must be at least 5 minutes (cert-manager\'s minimum)'
          : props.duration !== undefined && renew >= seconds(props.duration) ? `must be shorter than duration (${props.duration.toHumanString()})` : undefined,
        'e.g. Duration.days(30) for a 90-day certificate');
    }

    this.secretName = database.tlsSecretName ?? '';
    this.dnsNames = [...new Set([...PostgresCertificate.dnsNamesOf(database), ...props.extraDnsNames ?? []])];
    this.certificate = new cm.Certificate(this, 'Resource', {
      metadata: { name: this.secretName || undefined, namespace: database.namespace, labels: database.selectorLabels },
      spec: {
        secretName: this.secretName,
        secretTemplate: { labels: database.selectorLabels },
        issuerRef: { name: issuer.name, kind: issuer.kind, group: issuer.group },
        dnsNames: this.dnsNames,
        duration: props.duration ? goDuration(props.duration) : undefined,
        renewBefore: props.renewBefore ? goDuration(props.renewBefore) : undefined,
        privateKey: {
          algorithm: cm.CertificateSpecPrivateKeyAlgorithm.ECDSA,
          size: 256,
          rotationPolicy: cm.CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
        },
        usages: [cm.CertificateSpecUsages.SERVER_AUTH, cm.CertificateSpecUsages.DIGITAL_SIGNATURE],
      },
    });
  }
}

/** A duration as Go's time.ParseDuration reads it, in the largest whole unit: 2160h, 90m, 45s. */
function goDuration(duration: Duration): string {
  const seconds = duration.toSeconds({ integral: false });
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}
