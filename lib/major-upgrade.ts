/**
 * How data written by an older PostgreSQL major version is brought to the image's.
 */
export enum MajorUpgradeMethod {
  /**
   * `pg_upgrade` (copy mode), with the old image's binaries copied into the pod by an init
   * container: about as fast as copying the data files. Both images must be built on the same
   * operating system release, since the old binaries run against the new image's libraries
   * (official tags name it: `17.6-trixie` and `18.1-trixie`).
   */
  PG_UPGRADE = 'pg_upgrade',

  /**
   * `pg_dumpall` by the old image's server into a file on the volume, restored into a new data
   * directory by the new image: works across operating system releases, slower (indexes are
   * rebuilt), and needs room for the dump as well.
   */
  DUMP_AND_RESTORE = 'dump-and-restore',
}

/**
 * A major version upgrade of a running instance: the data on the volume was written by
 * `fromImage`, the instance now runs a newer major.
 *
 * Pod 0 upgrades when it starts on the new image (init containers, before PostgreSQL starts):
 * the new data directory is built beside the old one and moved into place when complete, so an
 * interrupted upgrade starts over or finishes the move on the next start, and never serves a
 * half-built database. The old data directory is kept (renamed `<PGDATA>.pg<old major>` when
 * both majors use the same path) until you remove it: setting the old image again starts it
 * (rollback; what was written after the upgrade is lost). While the option is set the
 * StatefulSet runs pod 0 alone; remove the option once the upgrade is done, and the standbys
 * come back and clone the upgraded primary.
 */
export class PostgresMajorUpgrade {
  /**
   * The data was written by `image`: `pg_upgrade` when both image tags name the same operating
   * system release (`17.6-trixie` and `18.1-trixie`), dump and restore otherwise.
   *
   * @param image the image the data was written with, e.g. 'postgres:17.6-trixie'
   */
  public static fromImage(image: string): PostgresMajorUpgrade {
    return new PostgresMajorUpgrade(image, undefined);
  }

  /**
   * The data was written by `image`; upgrade it with the given method.
   *
   * @param image the image the data was written with
   * @param method pg_upgrade (same operating system release) or dump and restore
   */
  public static fromImageWith(image: string, method: MajorUpgradeMethod): PostgresMajorUpgrade {
    return new PostgresMajorUpgrade(image, method);
  }

  /**
   * The method, when given.
   *
   * @default - pg_upgrade when both image tags name the same operating system release, dump and restore otherwise
   */
  public readonly method?: MajorUpgradeMethod;

  private constructor(
    /** The image the data was written with. */
    public readonly oldImage: string,
    method: MajorUpgradeMethod | undefined,
  ) {
    this.method = method;
  }

  /**
   * How the caller wrote this, for error messages.
   *
   * @internal
   */
  public _describe(): string {
    return this.method === undefined
      ? `PostgresMajorUpgrade.fromImage('${this.oldImage}')`
      : `PostgresMajorUpgrade.fromImageWith('${this.oldImage}', MajorUpgradeMethod.${this.method === MajorUpgradeMethod.PG_UPGRADE ? 'PG_UPGRADE' : 'DUMP_AND_RESTORE'})`;
  }
}
