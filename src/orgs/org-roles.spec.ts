import { checkRemoval, checkRoleChange, hasRole, OrgRole } from './org-roles';

describe('hasRole', () => {
  it.each<[OrgRole, OrgRole, boolean]>([
    ['owner', 'admin', true],
    ['admin', 'admin', true],
    ['member', 'admin', false],
    ['admin', 'owner', false],
    ['member', 'member', true],
  ])('%s has at least %s: %s', (role, minimum, expected) => {
    expect(hasRole(role, minimum)).toBe(expected);
  });
});

describe('checkRoleChange(actor, from, to, ownerCount)', () => {
  it.each<[OrgRole, OrgRole | null, OrgRole, number, string | null]>([
    ['admin', null, 'member', 1, null],
    ['admin', null, 'admin', 1, null],
    ['admin', 'member', 'admin', 1, null],
    ['admin', 'admin', 'member', 1, null],
    ['admin', null, 'owner', 1, 'owner_required'],
    ['admin', 'member', 'owner', 1, 'owner_required'],
    ['admin', 'owner', 'member', 2, 'owner_required'],
    ['member', null, 'member', 1, 'insufficient_role'],
    ['owner', null, 'owner', 1, null],
    ['owner', 'member', 'owner', 1, null],
    ['owner', 'owner', 'admin', 2, null],
    ['owner', 'owner', 'admin', 1, 'last_owner'],
    ['owner', 'owner', 'owner', 1, null],
  ])('%s moving %s to %s with %d owner(s) → %s', (actor, from, to, owners, expected) => {
    expect(checkRoleChange(actor, from, to, owners)).toBe(expected);
  });
});

describe('checkRemoval(actor, removingSelf, target, ownerCount)', () => {
  it.each<[OrgRole, boolean, OrgRole, number, string | null]>([
    ['member', true, 'member', 1, null],
    ['member', false, 'member', 1, 'insufficient_role'],
    ['admin', false, 'member', 1, null],
    ['admin', false, 'admin', 1, null],
    ['admin', false, 'owner', 2, 'owner_required'],
    ['owner', false, 'owner', 2, null],
    ['owner', true, 'owner', 1, 'last_owner'],
    ['owner', false, 'owner', 1, 'last_owner'],
    ['admin', true, 'admin', 1, null],
  ])(
    '%s (self: %s) removing a %s with %d owner(s) → %s',
    (actor, self, target, owners, expected) => {
      expect(checkRemoval(actor, self, target, owners)).toBe(expected);
    },
  );
});
