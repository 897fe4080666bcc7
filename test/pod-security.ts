// The Pod Security Standard "restricted" profile, as a check on pod specs (a test helper).

/**
 * The Pod Security Standard "restricted" profile (Kubernetes 1.27), every rule written down from
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/ (baseline rules included,
 * since restricted builds on baseline). Returns the rules a pod spec breaks.
 */
export function restrictedViolations(spec: any): string[] {
  const containers = [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])];
  const pod = spec.securityContext ?? {};
  const violations: string[] = [];
  const rule = (name: string, ok: boolean) => { if (!ok) violations.push(name); };
  // baseline
  rule('HostProcess: windowsOptions.hostProcess unset or false',
    pod.windowsOptions?.hostProcess !== true && containers.every((c) => c.securityContext?.windowsOptions?.hostProcess !== true));
  rule('Host namespaces: hostNetwork, hostPID, hostIPC unset or false', !spec.hostNetwork && !spec.hostPID && !spec.hostIPC);
  rule('Privileged containers: privileged unset or false', containers.every((c) => c.securityContext?.privileged !== true));
  const baselineCaps = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP',
    'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];
  rule('Capabilities (baseline): add only the default set', containers.every((c) => (c.securityContext?.capabilities?.add ?? []).every((a: string) => baselineCaps.includes(a))));
  rule('HostPath volumes: none', (spec.volumes ?? []).every((v: any) => v.hostPath === undefined));
  rule('Host ports: unset or 0', containers.every((c) => (c.ports ?? []).every((p: any) => !p.hostPort)));
  const appArmor = (profile: any) => profile === undefined || ['RuntimeDefault', 'Localhost'].includes(profile.type);
  rule('AppArmor: unset, RuntimeDefault or Localhost', appArmor(pod.appArmorProfile) && containers.every((c) => appArmor(c.securityContext?.appArmorProfile)));
  const seLinux = (o: any) => o === undefined || (['', 'container_t', 'container_init_t', 'container_kvm_t'].includes(o.type ?? '') && !o.user && !o.role);
  rule('SELinux: type unset or container_t/container_init_t/container_kvm_t; user and role unset',
    seLinux(pod.seLinuxOptions) && containers.every((c) => seLinux(c.securityContext?.seLinuxOptions)));
  rule('/proc mount type: unset or Default', containers.every((c) => [undefined, 'Default'].includes(c.securityContext?.procMount)));
  const seccompNotUnconfined = (p: any) => p?.type !== 'Unconfined';
  rule('Seccomp (baseline): not Unconfined', seccompNotUnconfined(pod.seccompProfile) && containers.every((c) => seccompNotUnconfined(c.securityContext?.seccompProfile)));
  const safeSysctls = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies',
    'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout',
    'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
  rule('Sysctls: only the safe set', (pod.sysctls ?? []).every((s: any) => safeSysctls.includes(s.name)));
  // restricted
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  rule('Volume types: only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret',
    (spec.volumes ?? []).every((v: any) => Object.keys(v).filter((k) => k !== 'name').every((k) => allowedVolumes.includes(k))));
  rule('Privilege escalation: allowPrivilegeEscalation false in every container', containers.every((c) => c.securityContext?.allowPrivilegeEscalation === false));
  rule('Running as non-root: runAsNonRoot true on the pod or every container',
    containers.every((c) => (c.securityContext?.runAsNonRoot ?? pod.runAsNonRoot) === true));
  rule('Running as non-root user: runAsUser not 0', pod.runAsUser !== 0 && containers.every((c) => c.securityContext?.runAsUser !== 0));
  const seccompSet = (p: any) => ['RuntimeDefault', 'Localhost'].includes(p?.type);
  rule('Seccomp (restricted): RuntimeDefault or Localhost on the pod or every container',
    containers.every((c) => seccompSet(c.securityContext?.seccompProfile ?? pod.seccompProfile)));
  rule('Capabilities (restricted): drop ALL, add at most NET_BIND_SERVICE', containers.every((c) =>
    (c.securityContext?.capabilities?.drop ?? []).includes('ALL')
    && (c.securityContext?.capabilities?.add ?? []).every((a: string) => a === 'NET_BIND_SERVICE')));
  return violations;
}
