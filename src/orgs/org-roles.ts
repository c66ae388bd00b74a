export const ORG_ROLES = ['owner', 'admin', 'member'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

const RANK: Record<OrgRole, number> = { member: 1, admin: 2, owner: 3 };

export function hasRole(role: OrgRole, minimum: OrgRole): boolean {
  return RANK[role] >= RANK[minimum];
}

/** Why a membership change is refused; `null` means it is allowed. */
export type MembershipViolation = 'insufficient_role' | 'owner_required' | 'last_owner';

/**
 * May `actor` move a member from `from` (null: not yet a member) to `to`? Only an owner grants or
 * takes away `owner`, and the org never loses its last owner.
 */
export function checkRoleChange(
  actor: OrgRole,
  from: OrgRole | null,
  to: OrgRole,
  ownerCount: number,
): MembershipViolation | null {
  if (!hasRole(actor, 'admin')) return 'insufficient_role';
  if ((to === 'owner' || from === 'owner') && actor !== 'owner') return 'owner_required';
  if (from === 'owner' && to !== 'owner' && ownerCount <= 1) return 'last_owner';
  return null;
}

/** May `actor` remove a member whose role is `target`? Anyone may leave; admins remove others. */
export function checkRemoval(
  actor: OrgRole,
  removingSelf: boolean,
  target: OrgRole,
  ownerCount: number,
): MembershipViolation | null {
  if (!removingSelf && !hasRole(actor, 'admin')) return 'insufficient_role';
  if (target === 'owner' && actor !== 'owner') return 'owner_required';
  if (target === 'owner' && ownerCount <= 1) return 'last_owner';
  return null;
}
