// The tenant role lives in tenant/; this path stays for the code that imports it here.
export { tenantRole, mapAkashAuditors } from './tenant/index.ts'
export type {
  TenantRole, TenantRoleInit, TenantRoleComponents, Deployment, DeploymentState, ServiceView, DeployProgressEvent, DeployOptions,
  UpdateProgressEvent, UpdateOptions, CloseProgressEvent, CloseOptions, DryRunAnswer, DryRunResult, UsageLine
} from './tenant/index.ts'
