import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cloudEventTypes, renderDelivery, webhookSkipReason } from '../../src/webhooks/formats/index.js';
import { allWebhookEventTypes, type PayloadFormat, type RenderContext, type NotifyType } from '../../src/webhooks/types.js';

// The payloads as Harbor's webhook handlers build them (goharbor/harbor
// src/controller/event/handler/webhook/...), for Berth's outbox payloads.

const digest = 'sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c';
const occurredAt = '2023-03-06T06:08:43.512Z';
const occurAt = 1678082923;

function context(
  type: string,
  payload: Record<string, unknown>,
  target: { type?: NotifyType; format?: PayloadFormat } = {},
): RenderContext {
  return {
    event: { id: 41, type, payload, createdAt: '2023-03-06T06:09:00.000Z' },
    project: { id: 3, name: 'library', public: true },
    policy: { id: 7, name: 'ci' },
    target: {
      type: target.type ?? 'http',
      address: 'http://127.0.0.1:1/hook',
      skipCertVerify: false,
      payloadFormat: target.format ?? 'Default',
    },
    deliveryId: '8a0f5b3e-2d9c-4f61-9a57-0c1d2e3f4a5b',
    registryHost: 'harbor.dev:8443',
    externalUrl: 'https://harbor.dev:8443',
  };
}

const repository = { name: 'busybox', namespace: 'library', repo_full_name: 'library/busybox', repo_type: 'public' };

const samples: Record<string, { payload: Record<string, unknown>; eventData: unknown; operator: string }> = {
  PUSH_ARTIFACT: {
    payload: { project_id: 3, repository: 'library/busybox', digest, tags: ['v1', 'latest'], operator: 'admin', occurred_at: occurredAt },
    eventData: { resources: [{ digest, tag: 'v1', resource_url: 'harbor.dev:8443/library/busybox:v1' }], repository },
    operator: 'admin',
  },
  PULL_ARTIFACT: {
    // Pulled by digest: Harbor's tag is then the digest, and the URL uses @.
    payload: { project_id: 3, repository: 'library/busybox', digest, tag: null, count: 1, occurred_at: occurredAt },
    eventData: { resources: [{ digest, tag: digest, resource_url: `harbor.dev:8443/library/busybox@${digest}` }], repository },
    operator: '',
  },
  DELETE_ARTIFACT: {
    payload: { project_id: 3, repository: 'library/busybox', digest, tags: [], labels: [], operator: 'alice', occurred_at: occurredAt },
    eventData: { resources: [{ digest, tag: digest, resource_url: `harbor.dev:8443/library/busybox@${digest}` }], repository },
    operator: 'alice',
  },
  SCANNING_COMPLETED: {
    payload: {
      project_id: 3,
      repository: 'library/busybox',
      digest,
      tag: 'v1',
      scan_type: 'vulnerability',
      registration_uuid: 'r',
      reports: ['u'],
      status: 'Success',
      operator: 'admin',
      occurred_at: occurredAt,
      scan_overview: { 'application/vnd.security.vulnerability.report; version=1.1': { scan_status: 'Success', severity: 'High' } },
    },
    eventData: {
      resources: [
        {
          digest,
          tag: 'v1',
          resource_url: 'harbor.dev:8443/library/busybox:v1',
          scan_overview: { 'application/vnd.security.vulnerability.report; version=1.1': { scan_status: 'Success', severity: 'High' } },
        },
      ],
      repository,
      scan: { scan_type: 'vulnerability' },
    },
    operator: 'admin',
  },
  SCANNING_FAILED: {
    payload: {
      project_id: 3,
      repository: 'library/busybox',
      digest,
      tag: null,
      scan_type: 'sbom',
      registration_uuid: 'r',
      reports: ['u'],
      status: 'Error',
      message: 'scanner down',
      operator: 'admin',
      occurred_at: occurredAt,
    },
    // No tag: Harbor leaves `tag` out (omitempty) and builds the URL from the digest.
    eventData: {
      resources: [{ digest, resource_url: `harbor.dev:8443/library/busybox@${digest}` }],
      repository,
      scan: { scan_type: 'sbom' },
    },
    operator: 'admin',
  },
  SCANNING_STOPPED: {
    payload: {
      project_id: 3,
      repository: 'library/busybox',
      digest,
      tag: 'v1',
      scan_type: 'vulnerability',
      registration_uuid: 'r',
      reports: ['u'],
      status: 'Stopped',
      operator: 'admin',
      occurred_at: occurredAt,
    },
    eventData: {
      resources: [{ digest, tag: 'v1', resource_url: 'harbor.dev:8443/library/busybox:v1' }],
      repository,
      scan: { scan_type: 'vulnerability' },
    },
    operator: 'admin',
  },
  QUOTA_EXCEED: {
    payload: {
      project_id: 3,
      repository: 'library/busybox',
      digest,
      tag: 'v1',
      message:
        'adding 10.0 MiB of storage resource, which when updated to current usage of 95.0 MiB will exceed the configured upper limit of 100.0 MiB.',
      used_bytes: 1,
      hard_bytes: 2,
      operator: 'admin',
      occurred_at: occurredAt,
    },
    eventData: {
      resources: [{ digest, tag: 'v1' }],
      repository,
      custom_attributes: {
        Details:
          'adding 10.0 MiB of storage resource, which when updated to current usage of 95.0 MiB will exceed the configured upper limit of 100.0 MiB.',
      },
    },
    operator: 'admin',
  },
  QUOTA_WARNING: {
    payload: {
      project_id: 3,
      repository: 'library/busybox',
      digest,
      message: 'quota usage reach 85%',
      used_bytes: 85,
      hard_bytes: 100,
      occurred_at: occurredAt,
    },
    eventData: { resources: [{ digest }], repository, custom_attributes: { Details: 'quota usage reach 85%' } },
    operator: '',
  },
  REPLICATION: {
    payload: {
      project_id: 3,
      policy_id: 5,
      policy_name: 'to-dr',
      execution_id: 12,
      task_id: 34,
      trigger: 'manual',
      status: 'Succeed',
      direction: 'push',
      src_resource: 'library/busybox:[v1]',
      dest_resource: 'mirror/busybox:[v1]',
      registry: { name: 'dr', url: 'https://dr.example.com', type: 'harbor' },
      repository: 'library/busybox',
      digest,
      tags: ['v1'],
      resource_type: 'image',
      operator: 'admin',
      occurred_at: occurredAt,
    },
    eventData: {
      replication: {
        harbor_hostname: 'harbor.dev',
        job_status: 'Success',
        artifact_type: 'image',
        trigger_type: 'MANUAL',
        src_resource: { registry_type: 'harbor', endpoint: 'https://harbor.dev:8443', namespace: 'library' },
        dest_resource: { registry_name: 'dr', registry_type: 'harbor', endpoint: 'https://dr.example.com', namespace: 'mirror' },
        successful_artifact: [{ type: 'image', status: 'Success', name_tag: 'busybox:v1', references: ['v1'] }],
        execution_id: 12,
        task_id: 34,
      },
    },
    operator: 'admin',
  },
  TAG_RETENTION: {
    payload: {
      project_id: 3,
      execution_id: 9,
      status: 'Succeed',
      trigger: 'Schedule',
      dry_run: false,
      total: 3,
      retained: 1,
      deleted: [
        { repository: 'library/busybox', digest, tags: ['old'] },
        { repository: 'library/busybox', digest: 'sha256:00', tags: [] },
      ],
      operator: 'admin',
      occurred_at: occurredAt,
    },
    eventData: {
      retention: {
        total: 3,
        retained: 1,
        harbor_hostname: 'harbor.dev',
        project_name: 'library',
        result: 'SUCCESS',
        deleted_artifact: [
          { type: 'image', status: 'SUCCESS', name_tag: 'busybox:old', references: null },
          { type: 'image', status: 'SUCCESS', name_tag: 'busybox@sha256:00', references: null },
        ],
      },
    },
    operator: 'admin',
  },
};

describe('webhook payload formats', () => {
  test('every event type has a sample here', () => {
    assert.deepEqual(Object.keys(samples).sort(), [...allWebhookEventTypes].sort());
  });

  for (const [type, sample] of Object.entries(samples)) {
    test(`${type}: Default is Harbor's payload`, () => {
      const rendered = renderDelivery(context(type, sample.payload));
      assert.deepEqual(rendered.headers, {
        'Content-Type': 'application/json',
        'X-Berth-Delivery-Id': '8a0f5b3e-2d9c-4f61-9a57-0c1d2e3f4a5b',
      });
      const body = JSON.parse(rendered.body);
      assert.deepEqual(body, { type, occur_at: occurAt, operator: sample.operator, event_data: sample.eventData });
      // Harbor's field order (Go struct order), which some receivers' hand-written parsers rely on.
      assert.deepEqual(Object.keys(body), ['type', 'occur_at', 'operator', 'event_data']);
    });

    test(`${type}: CloudEvents is Harbor 2.8's structured event`, () => {
      const rendered = renderDelivery(context(type, sample.payload, { format: 'CloudEvents' }));
      assert.equal(rendered.headers['Content-Type'], 'application/cloudevents+json');
      assert.equal(rendered.headers['X-Berth-Delivery-Id'], '8a0f5b3e-2d9c-4f61-9a57-0c1d2e3f4a5b');
      const event = JSON.parse(rendered.body);
      assert.deepEqual(event, {
        specversion: '1.0',
        id: '8a0f5b3e-2d9c-4f61-9a57-0c1d2e3f4a5b',
        source: '/projects/3/webhook/policies/7',
        type: cloudEventTypes[type],
        datacontenttype: 'application/json',
        time: '2023-03-06T06:08:43Z',
        data: sample.eventData,
        operator: sample.operator,
        requestid: '41',
      });
      assert.match(event.type, /^harbor\.[a-z_]+(\.[a-z_]+)+$/);
    });

    test(`${type}: Slack is Harbor's message blocks, valid JSON`, () => {
      const rendered = renderDelivery(context(type, sample.payload, { type: 'slack', format: 'CloudEvents' }));
      assert.equal(rendered.headers['Content-Type'], 'application/json');
      assert.equal(rendered.headers['X-Berth-Delivery-Id'], '8a0f5b3e-2d9c-4f61-9a57-0c1d2e3f4a5b');
      const message = JSON.parse(rendered.body);
      const texts = message.blocks.map((b: { type: string; text: { type: string; text: string } }) => {
        assert.equal(b.type, 'section');
        assert.equal(b.text.type, 'mrkdwn');
        return b.text.text;
      });
      assert.deepEqual(texts, [
        '*Harbor webhook events*',
        `*event_type:* ${type}`,
        `*occur_at:* <!date^${occurAt}^{date} at {time}|2023-03-06T06:08:43Z>`,
        `*operator:* ${sample.operator}`,
        '*event_data:*',
        '```' + JSON.stringify(sample.eventData, null, '\t') + '```',
      ]);
      assert.match(message.text, new RegExp(`^Harbor webhook events: ${type}`));
    });
  }

  test('rendering is deterministic: the same context gives the same bytes and headers', () => {
    for (const [type, sample] of Object.entries(samples)) {
      for (const target of [{}, { format: 'CloudEvents' as const }, { type: 'slack' as const }]) {
        const a = renderDelivery(context(type, sample.payload, target));
        const b = renderDelivery(context(type, structuredClone(sample.payload), target));
        assert.equal(a.body, b.body);
        assert.deepEqual(a.headers, b.headers);
      }
    }
  });

  test('another delivery id changes only the id', () => {
    const ctx = context('PUSH_ARTIFACT', samples.PUSH_ARTIFACT.payload, { format: 'CloudEvents' });
    const a = JSON.parse(renderDelivery(ctx).body);
    const b = JSON.parse(renderDelivery({ ...ctx, deliveryId: 'other' }).body);
    assert.equal(b.id, 'other');
    assert.deepEqual({ ...a, id: 'other' }, b);
  });

  test('a private project is repo_type private; a repository creation time becomes date_created first', () => {
    const ctx = context('PUSH_ARTIFACT', { ...samples.PUSH_ARTIFACT.payload, repository_created_at: '2023-02-22T08:06:05Z' });
    ctx.project.public = false;
    const body = JSON.parse(renderDelivery(ctx).body);
    assert.deepEqual(body.event_data.repository, {
      date_created: 1677053165,
      name: 'busybox',
      namespace: 'library',
      repo_full_name: 'library/busybox',
      repo_type: 'private',
    });
    assert.equal(Object.keys(body.event_data.repository)[0], 'date_created');
  });

  test('a nested repository keeps everything after the project as its name', () => {
    const body = JSON.parse(
      renderDelivery(context('PUSH_ARTIFACT', { ...samples.PUSH_ARTIFACT.payload, repository: 'library/team/app' })).body,
    );
    assert.equal(body.event_data.repository.name, 'team/app');
    assert.equal(body.event_data.resources[0].resource_url, 'harbor.dev:8443/library/team/app:v1');
  });

  test('a failed pull replication reports the failed artifact on the local (destination) side', () => {
    const payload = {
      ...samples.REPLICATION.payload,
      status: 'Failed',
      direction: 'pull',
      trigger: 'event_based',
      src_resource: 'upstream/busybox@sha256:dd',
      dest_resource: 'library/busybox@sha256:dd',
      tags: [],
    };
    const replication = JSON.parse(renderDelivery(context('REPLICATION', payload)).body).event_data.replication;
    assert.equal(replication.job_status, 'Error');
    assert.equal(replication.trigger_type, 'EVENT');
    assert.deepEqual(replication.src_resource, {
      registry_name: 'dr',
      registry_type: 'harbor',
      endpoint: 'https://dr.example.com',
      namespace: 'upstream',
    });
    assert.deepEqual(replication.dest_resource, { registry_type: 'harbor', endpoint: 'https://harbor.dev:8443', namespace: 'library' });
    // Untagged: the digest names it, as retention's name_tag does.
    assert.deepEqual(replication.failed_artifact, [
      { type: 'image', status: 'Error', name_tag: `busybox@${digest}`, references: [digest] },
    ]);
    assert.equal(replication.successful_artifact, undefined);
  });

  test('a stopped replication lists no artifact', () => {
    const replication = JSON.parse(renderDelivery(context('REPLICATION', { ...samples.REPLICATION.payload, status: 'Stopped' })).body)
      .event_data.replication;
    assert.equal(replication.job_status, 'Stopped');
    assert.equal(replication.successful_artifact, undefined);
    assert.equal(replication.failed_artifact, undefined);
  });

  test('Slack: quotes, backslashes and newlines in the data stay valid JSON and read back as they were', () => {
    const message = 'quota "storage" exceeded\nby C:\\path <x> & y';
    const rendered = renderDelivery(context('QUOTA_EXCEED', { ...samples.QUOTA_EXCEED.payload, message }, { type: 'slack' }));
    const text = JSON.parse(rendered.body).blocks[5].text.text as string;
    assert.equal(JSON.parse(text.slice(3, -3)).custom_attributes.Details, message);
  });

  test('an unknown event type is refused', () => {
    assert.throws(() => renderDelivery(context('CREATE_PROJECT', { project_id: 3 })), /not a webhook event type: CREATE_PROJECT/);
  });

  test('Harbor sends nothing for a dry run of tag retention or one that deleted nothing', () => {
    const payload = samples.TAG_RETENTION.payload;
    assert.equal(webhookSkipReason({ type: 'TAG_RETENTION', payload }), null);
    assert.match(webhookSkipReason({ type: 'TAG_RETENTION', payload: { ...payload, dry_run: true } }) ?? '', /dry run/);
    assert.match(webhookSkipReason({ type: 'TAG_RETENTION', payload: { ...payload, deleted: [] } }) ?? '', /deleted nothing/);
    assert.equal(webhookSkipReason({ type: 'PUSH_ARTIFACT', payload: samples.PUSH_ARTIFACT.payload }), null);
  });
});
