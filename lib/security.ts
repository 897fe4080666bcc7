// Security contexts that meet the Pod Security Standard "restricted" profile, and running as the image's postgres user (internal).
import { PodSecurityContext, SecurityContext } from './render/manifest';

export interface PodSecurityOptions {
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly fsGroup: number;
  readonly fsGroupChangePolicy: string;
}

/**
 * Runs as the image's postgres user (non-root); `fsGroup` makes the volume writable for it, and
 * `OnRootMismatch` keeps the kubelet from re-applying group permissions to PGDATA on every mount
 * (PostgreSQL refuses a data directory that others can write to).
 */
export function podSecurityContext(options: PodSecurityOptions): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: options.runAsUser,
    runAsGroup: options.runAsGroup,
    fsGroup: options.fsGroup,
    fsGroupChangePolicy: options.fsGroupChangePolicy,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** No privilege escalation, no capabilities, optionally a read-only root filesystem. */
export function containerSecurityContext(readOnlyRootFilesystem: boolean): SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem,
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
