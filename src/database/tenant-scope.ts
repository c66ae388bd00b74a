/**
 * TypeORM drops an `undefined` value from a `where` and would run an org-owned query unscoped:
 * every repository method that reads tenant data calls this first.
 */
export function requireOrgId(orgId: string | undefined | null): string {
  if (typeof orgId !== 'string' || orgId.length === 0) {
    throw new Error('Tenant-scoped query called without an orgId');
  }
  return orgId;
}
