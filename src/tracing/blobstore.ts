import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../storage/blobstore.js';

function failed(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setAttribute(ATTR_ERROR_TYPE, (err as { code?: string }).code ?? (err as Error)?.name ?? 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * The blob store with a span per operation ("blobstore.<operation>", a child of the active
 * span), saying the driver and the digest or upload it works on. A read's span lasts until its
 * stream closes; a listing's until it is iterated to the end.
 */
export function tracedBlobStore(inner: BlobStore, tracer: Tracer, driver: string): BlobStore {
  const begin = (operation: string, attributes: Attributes) =>
    tracer.startSpan(
      `blobstore.${operation}`,
      { kind: SpanKind.INTERNAL, attributes: { 'berth.blobstore.driver': driver, 'berth.blobstore.operation': operation, ...attributes } },
      context.active(),
    );
  async function call<T>(operation: string, attributes: Attributes, run: () => Promise<T>): Promise<T> {
    const span = begin(operation, attributes);
    try {
      return await context.with(trace.setSpan(context.active(), span), run);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }
  async function* listing<T>(operation: string, source: () => AsyncIterable<T>): AsyncIterable<T> {
    const span = begin(operation, {});
    let count = 0;
    try {
      for await (const item of source()) {
        count += 1;
        yield item;
      }
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.setAttribute('berth.blobstore.items', count);
      span.end();
    }
  }
  const digest = (d: string) => ({ 'berth.blob.digest': d });
  const upload = (id: string) => ({ 'berth.upload.id': id });
  const traced: BlobStore = {
    check: () => call('check', {}, () => inner.check()),
    capacity: () => call('capacity', {}, () => inner.capacity()),
    stat: (d) => call('stat', digest(d), () => inner.stat(d)),
    async read(d, range) {
      const span = begin('read', { ...digest(d), ...(range ? { 'berth.blob.range': `${range.start}-${range.end}` } : {}) });
      let stream: Readable;
      try {
        stream = await context.with(trace.setSpan(context.active(), span), () => inner.read(d, range));
      } catch (err) {
        failed(span, err);
        span.end();
        throw err;
      }
      stream.once('error', (err) => failed(span, err));
      stream.once('close', () => span.end());
      return stream;
    },
    delete: (d) => call('delete', digest(d), () => inner.delete(d)),
    list: () => listing('list', () => inner.list()),
    createUpload: (id) => call('create_upload', upload(id), () => inner.createUpload(id)),
    uploadSize: (id) => call('upload_size', upload(id), () => inner.uploadSize(id)),
    appendUpload: (id, offset, source) =>
      call('append_upload', { ...upload(id), 'berth.upload.offset': offset }, async () => {
        const appended = await inner.appendUpload(id, offset, source);
        trace.getActiveSpan()?.setAttribute('berth.upload.appended_bytes', appended);
        return appended;
      }),
    readUpload: (id, length) => call('read_upload', upload(id), () => inner.readUpload(id, length)),
    publishUpload: (id, d, size, options) =>
      call('publish_upload', { ...upload(id), ...digest(d), ...(options?.replace ? { 'berth.blob.replace': true } : {}) }, () =>
        inner.publishUpload(id, d, size, options),
      ),
    deleteUpload: (id) => call('delete_upload', upload(id), () => inner.deleteUpload(id)),
    listUploads: () => listing('list_uploads', () => inner.listUploads()),
  };
  if (inner.redirectUrl) {
    const redirectUrl = inner.redirectUrl.bind(inner);
    traced.redirectUrl = (d) => call('redirect_url', digest(d), () => redirectUrl(d));
  }
  if (inner.deleteMany) {
    const deleteMany = inner.deleteMany.bind(inner);
    traced.deleteMany = (digests) => call('delete_many', { 'berth.blobstore.items': digests.length }, () => deleteMany(digests));
  }
  return traced;
}
