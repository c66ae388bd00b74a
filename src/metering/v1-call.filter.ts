import { ArgumentsHost, Catch, Injectable, Logger } from '@nestjs/common';
import { Request, Response } from 'express';
import { ApiKeyCall } from '../api-keys/api-key-call';
import { presentedCallOf } from '../api-keys/api-key.guard';
import { HttpExceptionFilter, loggableError } from '../common/http-exception.filter';
import { MetricsService } from '../metrics/metrics.service';
import { AdmissionService, throwUnlessAdmitted } from './admission.service';
import { MeteringService } from './metering.service';

/**
 * The error answers of `/v1` routes: the same as every route's (HttpExceptionFilter), once the
 * call is settled. A call that failed before it was admitted (a missing scope, a bad body, a
 * refused batch) is admitted now, so that bad requests pay their unit and are limited too — and
 * a rate-limit refusal then is the answer; a call that failed after it was admitted gives back
 * what it reserved of its quotas.
 */
@Catch()
@Injectable()
export class V1CallFilter extends HttpExceptionFilter {
  private readonly log = new Logger(V1CallFilter.name);

  constructor(
    private readonly admission: AdmissionService,
    private readonly metering: MeteringService,
    metrics: MetricsService,
  ) {
    super(metrics.countErrorAnswer);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const call = presentedCallOf(host.switchToHttp().getRequest<Request>());
    if (!call) return super.catch(exception, host);
    // Answered once the call is settled, outside Nest's own handling: a failure to answer is
    // caught here, or it would be an unhandled rejection.
    void this.settle(call, exception)
      .then((failure) => super.catch(failure, host))
      .catch((error: unknown) => this.cutShort(error, host));
  }

  private cutShort(error: unknown, host: ArgumentsHost): void {
    this.log.error({ err: loggableError(error) }, 'An error answer could not be written');
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) response.destroy();
    else response.status(500).end();
  }

  /** Answers the error the call ends with. */
  private async settle(call: ApiKeyCall, error: unknown): Promise<unknown> {
    let admission = this.admission.of(call);
    if (admission) {
      await this.metering.release(call).catch(() => undefined);
      return error;
    }
    try {
      admission = await this.admission.admit(call);
      throwUnlessAdmitted(admission);
    } catch (refusal) {
      // Rate limited: that is the answer. The limiter unavailable: the first error stands.
      if (admission) return refusal;
    }
    return error;
  }
}
