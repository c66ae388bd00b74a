import { errorClass } from '../common/domain-error';
import { periodOf } from '../common/period';

export const MeteringError = errorClass('MeteringError', {
  negative_value: 400,
  unknown_meter: 400,
  period_closed: 409,
});

/** 409 naming each event (by its place in the batch) dated in a period whose invoice is final. */
export function periodClosed(events: { time: Date; position?: string }[]) {
  return new MeteringError(
    'period_closed',
    'Events fall in a period whose invoice is finalized; nothing of the batch was stored',
    {
      problems: events.map((e) => {
        const field = `${e.position ?? ''}time`;
        return {
          field,
          message: `${field} falls in ${periodOf(e.time)}, whose invoice is finalized`,
        };
      }),
    },
  );
}
