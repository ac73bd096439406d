import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { aboutJob } from '@starminer/telemetry';

/**
 * An HTTP route with a job in its path (`:jobId`) is about that job: its span gets the job's id and
 * its log lines carry it. (Commands say it in CommandHandler, where their payload is parsed.) Nest
 * binds the handler to the async context `handle()` is called in, so calling it inside the job's
 * scope is enough.
 */
@Injectable()
export class JobScopeInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const jobId = (ctx.switchToHttp().getRequest<{ params?: Record<string, unknown> }>().params ?? {}).jobId;
    return typeof jobId === 'string' ? aboutJob(jobId, () => next.handle()) : next.handle();
  }
}
