// Where the official image keeps its data, by major version (internal).
//
// Up to 17 the image declares VOLUME /var/lib/postgresql/data and PGDATA is that directory.
// From 18 it declares VOLUME /var/lib/postgresql and PGDATA=/var/lib/postgresql/<major>/docker
// (docker-library/postgres#1259). Its entrypoint then refuses to initialise a new cluster when it
// finds PG_VERSION in /var/lib/postgresql, /var/lib/postgresql/data or /var/lib/postgresql/*/docker,
// which stops a major upgrade of the image from silently starting an empty database; that check
// only runs when PGDATA is the image's own default.
import * as formats from './formats';
import { Problems } from './problems';

/** First major version whose image uses the pg_ctlcluster layout. */
export const CLUSTER_LAYOUT_MAJOR = 18;
const LEGACY_MOUNT = '/var/lib/postgresql/data';
const VERSIONED_PGDATA = /^\/var\/lib\/postgresql\/(\d+)\/docker\/?$/;

/** The mount path and PGDATA the image expects for a major version. */
export function defaultLayout(major: number | undefined, dataMountPath?: string): { dataMountPath: string; pgData: string } {
  if (dataMountPath === undefined && major !== undefined && major >= CLUSTER_LAYOUT_MAJOR) {
    return { dataMountPath: '/var/lib/postgresql', pgData: `/var/lib/postgresql/${major}/docker` };
  }
  const mount = dataMountPath ?? LEGACY_MOUNT;
  return { dataMountPath: mount, pgData: `${mount.replace(/\/+$/, '')}/pgdata` };
}

/** Checks that the layout fits the image's major version. */
export function checkLayout(problems: Problems, major: number, dataMountPath: string, pgData: string): void {
  const legacyMount = formats.samePath(dataMountPath, LEGACY_MOUNT) || formats.isStrictSubdirectory(dataMountPath, LEGACY_MOUNT)
    || formats.isStrictSubdirectory(pgData, LEGACY_MOUNT);
  if (major >= CLUSTER_LAYOUT_MAJOR && legacyMount) {
    problems.add('dataMountPath', dataMountPath,
      `puts the data under ${LEGACY_MOUNT}, the layout of images before ${CLUSTER_LAYOUT_MAJOR}; PostgreSQL ${major} images keep it in `
      + `/var/lib/postgresql/${major}/docker with one volume at /var/lib/postgresql, and with the old layout their check against data of another major version is off`,
      'remove dataMountPath and pgData to use the image\'s layout; to bring an existing database to a new major version, run pg_upgrade or dump and restore');
  }
  const versioned = VERSIONED_PGDATA.exec(pgData);
  if (versioned && Number(versioned[1]) !== major) {
    problems.add('pgData', pgData, `is the data directory of PostgreSQL ${versioned[1]}, but the image runs PostgreSQL ${major}`,
      `use /var/lib/postgresql/${major}/docker (or remove pgData); data of another major version must be upgraded first (pg_upgrade, or dump and restore)`);
  }
}
