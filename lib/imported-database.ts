// A database this app does not manage (internal; created by PostgresStatefulSet.fromServiceName).
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as checks from './checks';
import { connectWorkload } from './connection';
import { IPostgresDatabase, PostgresConnectOptions, PostgresDatabaseImportOptions } from './database';

export class ImportedPostgresDatabase extends Construct implements IPostgresDatabase {
  public readonly host: string;
  public readonly readOnlyHost: string;
  public readonly port: number;
  public readonly databaseName: string;
  public readonly username: string;
  public readonly secretName: string;
  public readonly passwordKey: string;

  constructor(scope: Construct, id: string, serviceName: string, options: PostgresDatabaseImportOptions) {
    super(scope, id);
    const { credentials } = options;
    if (!credentials.referencesSecret) {
      throw new Error(`[${this.node.path}] PostgresStatefulSet.fromServiceName(): options.credentials must name an existing Secret, `
        + `got ${credentials.rendersSecret ? 'PostgresCredentials.fromPassword()' : 'PostgresCredentials.expectSecret()'} `
        + '(this app renders no Secret for a database it does not manage, and has no secretName for it). '
        + 'Fix: use PostgresCredentials.fromSecretName() or fromSecret()');
    }
    const problems = new checks.Problems(this, 'PostgresStatefulSet.fromServiceName');
    problems.check('serviceName', serviceName, checks.dns1035Label(serviceName), 'give the name of the database\'s Service');
    this.port = options.port ?? 5432;
    problems.check('port', this.port, checks.tcpPort(this.port), 'use the Service\'s port, usually 5432');

    const dnsName = (service: string) => options.namespace !== undefined
      ? `${service}.${options.namespace}.svc.${options.clusterDomain ?? 'cluster.local'}`
      : service;
    this.host = dnsName(serviceName);
    this.readOnlyHost = dnsName(options.readOnlyServiceName ?? serviceName);
    this.username = credentials.username ?? 'postgres';
    this.databaseName = options.databaseName ?? this.username;
    this.secretName = credentials.secretName as string;
    this.passwordKey = credentials.passwordKey ?? 'POSTGRES_PASSWORD';
  }

  public allowFrom(_peer: kplus.INetworkPolicyPeer): boolean {
    return false;
  }

  public connect(workload: kplus.AbstractPod, options: PostgresConnectOptions = {}): void {
    connectWorkload(this, workload, options);
  }
}
