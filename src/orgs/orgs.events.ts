/** Emitted (in process) after an org's move to another plan has committed. */
export class OrgPlanChangedEvent {
  static readonly event = 'org.plan_changed';

  constructor(
    readonly orgId: string,
    readonly from: string,
    readonly to: string,
  ) {}
}
