// A database this app does not manage (internal; created by PostgresStatefulSet.fromServiceName).
import { Construct, IConstruct } from 'constructs';
import { SUPERUSER_DEFAULTS } from './roles';
import { IPostgresDatabase, PostgresConnectOptions, PostgresDatabaseImportOptions } from './database';
import { DEFAULT_CLUSTER_DOMAIN, serviceDnsName } from './dns';
import * as formats from './formats';
import { connectWorkload } from './connection';
import { Problems } from './problems';
import { DEFAULT_TLS_CA_KEY } from './resolve';

export class ImportedPostgresDatabase extends Construct implements IPostgresDatabase {
  public readonly host: string;
  public readonly readOnlyHost: string;
  public readonly port: number;
  public readonly databaseName: string;
  public readonly username: string;
  public readonly secretName: string;
  public readonly passwordKey: string;
  public readonly tlsCaSecretName?: string;
  public readonly tlsCaKey?: string;

  constructor(scope: Construct, id: string, serviceName: string, options: PostgresDatabaseImportOptions) {
    super(scope, id);
    const { credentials } = options;
    const clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.port = options.port ?? 5432;
    this.host = serviceDnsName(serviceName, options.namespace, clusterDomain);
    this.readOnlyHost = serviceDnsName(options.readOnlyServiceName ?? serviceName, options.namespace, clusterDomain);
    this.username = credentials.username ?? SUPERUSER_DEFAULTS.username;
    this.databaseName = options.databaseName ?? this.username;
    this.secretName = credentials.secretName ?? '';
    this.passwordKey = credentials.passwordKey ?? SUPERUSER_DEFAULTS.passwordKey;
    this.tlsCaSecretName = options.tlsCaSecret?.name;
    this.tlsCaKey = options.tlsCaSecret ? options.tlsCaKey ?? DEFAULT_TLS_CA_KEY : undefined;

    const problems = Problems.of(this, 'PostgresStatefulSet.fromServiceName');
    const serviceFix = 'give the name of the database\'s Service: lowercase letters, digits and \'-\', starting with a letter';
    problems.check('serviceName', serviceName, formats.dns1035Label(serviceName), serviceFix);
    if (options.readOnlyServiceName !== undefined) {
      problems.check('options.readOnlyServiceName', options.readOnlyServiceName, formats.dns1035Label(options.readOnlyServiceName), serviceFix);
    }
    if (options.namespace !== undefined) {
      problems.check('options.namespace', options.namespace, formats.dns1123Label(options.namespace),
        'give the namespace of the database\'s Service: lowercase letters, digits and \'-\', at most 63 characters');
    }
    problems.check('options.clusterDomain', clusterDomain, formats.dns1123Subdomain(clusterDomain), 'use the cluster\'s DNS domain, usually cluster.local');
    problems.check('options.port', this.port, formats.tcpPort(this.port), 'use the Service\'s port, usually 5432');
    if (!credentials.referencesSecret) {
      problems.add('options.credentials', credentials,
        'must name an existing Secret (this app renders no Secret for a database it does not manage, and has no secretName for it)',
        'use PostgresCredentials.fromSecretName() or fromSecret()');
    }
    problems.check('options.credentials passwordKey', this.passwordKey, formats.secretKey(this.passwordKey), 'use the key of the password in the Secret');
    if (this.username === '') {
      problems.add('options.credentials username', this.username, 'must not be empty', 'give the role to connect as');
    }
    if (options.tlsCaKey !== undefined) {
      problems.check('options.tlsCaKey', options.tlsCaKey, options.tlsCaSecret ? formats.secretKey(options.tlsCaKey) : 'only applies with options.tlsCaSecret',
        options.tlsCaSecret ? 'use the key of the CA certificate in the Secret, usually \'ca.crt\'' : 'set options.tlsCaSecret, or remove options.tlsCaKey');
    }
    if (this.databaseName === '') {
      problems.add('options.databaseName', this.databaseName, 'must not be empty', 'give the database to connect to');
    }
  }

  public allowFrom(_peer: IConstruct): boolean {
    return false;
  }

  public connect(workload: IConstruct, options: PostgresConnectOptions = {}): void {
    connectWorkload(this, workload, options);
  }
}
