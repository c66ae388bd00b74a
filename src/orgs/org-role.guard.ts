import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  InternalServerErrorException,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension, ApiParam } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { ApiErrors, ApiUserAuth } from '../common/api-errors';
import { AuthenticatedRequest } from '../common/auth.decorators';
import { orgNotFound, OrgsError } from './orgs.errors';
import { hasRole, OrgRole } from './org-roles';
import { Membership, OrgsRepository } from './orgs.repository';

const MINIMUM_ROLE = 'orgs:minimum-role';
interface OrgRequest extends AuthenticatedRequest {
  membership?: Membership;
}

/**
 * Resolves the caller's membership of `:orgId` once per request. A non-member gets 404, exactly as
 * for an org that does not exist; a member below the route's role gets 403.
 */
@Injectable()
export class OrgRoleGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly orgs: OrgsRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const minimum = this.reflector.getAllAndOverride<OrgRole | undefined>(MINIMUM_ROLE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<OrgRequest>();
    const orgId = request.params.orgId;
    if (!minimum || !request.user || typeof orgId !== 'string') {
      throw new InternalServerErrorException(
        'OrgRoleGuard needs @Roles(), a JWT user and an :orgId parameter',
      );
    }
    if (!isUUID(orgId)) throw orgNotFound();
    const membership = await this.orgs.findMembership(orgId, request.user.id);
    if (!membership) throw orgNotFound();
    if (!hasRole(membership.role, minimum)) {
      throw new OrgsError(
        'insufficient_role',
        `This action needs the ${minimum} role in the organization`,
      );
    }
    request.membership = membership;
    return true;
  }
}

/** Requires a user JWT and at least `minimum` role in the org named by `:orgId`. */
export const Roles = (minimum: OrgRole) =>
  applyDecorators(
    SetMetadata(MINIMUM_ROLE, minimum),
    UseGuards(OrgRoleGuard),
    ApiUserAuth(),
    ApiParam({ name: 'orgId', format: 'uuid' }),
    // Read by clients and by the route inventory test, which tries each role below it.
    ApiExtension('x-minimum-role', minimum),
    ApiErrors({
      404: '`org_not_found`: no such org, or the caller is not a member',
      ...(minimum === 'member'
        ? {}
        : { 403: `\`insufficient_role\`: the caller's role is below ${minimum}` }),
    }),
  );

/** The membership `OrgRoleGuard` resolved. Loud if the route has no `@Roles()`. */
export const CurrentMembership = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Membership => {
    const membership = ctx.switchToHttp().getRequest<OrgRequest>().membership;
    if (!membership)
      throw new InternalServerErrorException('CurrentMembership used on a route without @Roles()');
    return membership;
  },
);
