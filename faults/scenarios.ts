/**
 * The faults, each run during full sync and during incremental sync unless it only means something
 * in one of them. See faults/harness.ts for how a run goes and what is measured.
 */
import kafkajs from 'kafkajs';
import { kafka, postgres } from './servers.js';
import { tools, type RunContext, type Scenario } from './harness.js';
import { createTopic, withAdmin } from '../test/integration/support.js';

const BOTH = ['full', 'incremental'] as const;
const { sleep } = tools;

/** Holds a fault until the task failed (or `ms` passed). */
async function holdUntilFailed(ctx: RunContext, ms: number): Promise<void> {
  if (!(await tools.untilFailed(ctx, ms)) && !ctx.child.exited) ctx.notes.push(`the task had not failed ${Math.round(ms / 1000)} s into the fault, which was then lifted`);
}

async function setTopicMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  await withAdmin((a) => a.alterConfigs({ validateOnly: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] }));
}

export const scenarios: Scenario[] = [
  {
    name: 'none (control)',
    control: true,
    description: 'No fault: the same writes and accounting, for comparison.',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject() {
      await sleep(5000);
    },
  },
  {
    name: 'runtime SIGKILL',
    description: 'The runtime process is SIGKILLed and started again 2 s later from its file checkpoint.',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      await ctx.child.signal('SIGKILL');
      await sleep(2000);
      ctx.startChild('restart');
    },
  },
  {
    name: 'runtime SIGSTOP 40 s',
    description: 'The runtime process is frozen (SIGSTOP) for 40 s, then continued (SIGCONT).',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      await ctx.child.signal('SIGSTOP');
      await sleep(40_000);
      await ctx.child.signal('SIGCONT');
    },
  },
  {
    name: 'broker SIGKILL, back after 20 s',
    description: 'The Kafka broker is SIGKILLed and started again 20 s later.',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject() {
      await kafka.kill();
      await sleep(20_000);
      await kafka.up();
    },
  },
  {
    name: 'PostgreSQL restart -m fast',
    description: '`pg_ctl stop -m fast` (must complete while the task is connected), started again 3 s later.',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      const took = await postgres.stop('fast', 60).catch((err: unknown) => {
        ctx.notes.push(`pg_ctl stop -m fast did not complete within 60 s: ${(err as Error).message}`);
        return null;
      });
      if (took !== null) ctx.notes.push(`pg_ctl stop -m fast took ${took} ms`);
      await sleep(3000);
      await postgres.start();
    },
  },
  {
    name: 'PostgreSQL restart -m immediate',
    description: '`pg_ctl stop -m immediate` (a crash: recovery from WAL on start), started again 3 s later.',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject() {
      await postgres.stop('immediate', 60);
      await sleep(3000);
      await postgres.start();
    },
  },
  {
    name: 'network cut to Kafka 15 s',
    description: 'Every connection to Kafka reset (RST), new ones reset at once, for 15 s (retry window 120 s).',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      ctx.proxies.kafka.cut();
      await sleep(15_000);
      ctx.proxies.kafka.restore();
    },
  },
  {
    name: 'network cut to PostgreSQL 15 s',
    description: 'Every connection to PostgreSQL reset (RST), new ones reset at once, for 15 s (retry window 120 s).',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      ctx.proxies.pg.cut();
      await sleep(15_000);
      ctx.proxies.pg.restore();
    },
  },
  {
    name: 'network cut longer than the retry window',
    description: 'Both networks cut (RST) with a 20 s connection retry window, until the task fails (at most 90 s); then restored and the task restarted by hand.',
    phases: [...BOTH],
    retry: { connectionMs: 20_000, otherMs: 10_000 },
    require: { kind: 'fail', code: /./, what: 'a connection error once the window ran out' },
    async inject(ctx) {
      ctx.proxies.kafka.cut();
      ctx.proxies.pg.cut();
      await holdUntilFailed(ctx, 90_000);
      ctx.proxies.kafka.restore();
      ctx.proxies.pg.restore();
    },
    async fix() {
      /* the network is back */
    },
  },
  {
    name: 'half-open PostgreSQL 60 s',
    description: 'The network to PostgreSQL goes dark (no RST, no data, sockets kept open) for 60 s, longer than the replication silence limit (30-40 s).',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      ctx.proxies.pg.blackhole();
      await sleep(60_000);
      ctx.proxies.pg.restore();
    },
  },
  {
    name: 'half-open Kafka 60 s',
    description: 'The network to Kafka goes dark (no RST, no data, sockets kept open) for 60 s, longer than the 30 s request timeout.',
    phases: [...BOTH],
    require: { kind: 'recover' },
    async inject(ctx) {
      ctx.proxies.kafka.blackhole();
      await sleep(60_000);
      ctx.proxies.kafka.restore();
    },
  },
  {
    name: 'slot dropped while stopped',
    description: 'The task is stopped (SIGTERM), its replication slot dropped, and the task started again: it must fail LOST_HISTORY, never start from now.',
    phases: [...BOTH],
    require: { kind: 'fail', code: /LOST_HISTORY/, what: 'LOST_HISTORY' },
    quiesce: ['incremental'],
    writeFromFault: ['full'],
    scope: 'beforeFault',
    async inject(ctx) {
      await ctx.child.stop();
      await sleep(1000);
      await tools.dropSlot(ctx);
      ctx.startChild('start after the slot was dropped');
    },
  },
  {
    name: 'slot dropped while running',
    description: 'The replication slot is dropped while the task runs (its walsender terminated first): it must fail LOST_HISTORY, never start from now.',
    phases: [...BOTH],
    require: { kind: 'fail', code: /LOST_HISTORY/, what: 'LOST_HISTORY' },
    quiesce: ['incremental'],
    writeFromFault: ['full'],
    scope: 'beforeFault',
    async inject(ctx) {
      await tools.dropSlot(ctx);
    },
  },
  {
    name: 'topic max.message.bytes below a batch',
    description: "The topic's max.message.bytes is lowered to 1024 (a single message fits, a batch does not) and a 300-row transaction is written; restored once the task failed, or after 90 s.",
    phases: [...BOTH],
    require: { kind: 'recover-or-fail', code: /./, what: 'an error naming the size limit' },
    async inject(ctx) {
      await setTopicMaxMessageBytes(ctx.topic, 1024);
      void ctx.writer.burst(300);
      await holdUntilFailed(ctx, 90_000);
      await setTopicMaxMessageBytes(ctx.topic, 10 * 1024 * 1024);
    },
    async fix(ctx) {
      await setTopicMaxMessageBytes(ctx.topic, 10 * 1024 * 1024);
    },
  },
  {
    name: 'destination topic deleted',
    description: 'The topic is deleted while the task writes; recreated (empty) 20 s later. Only changes committed after the deletion can be asked of it.',
    phases: [...BOTH],
    require: { kind: 'recover-or-fail', code: /./, what: 'an error naming the topic' },
    quiesce: ['incremental'],
    writeFromFault: ['full'],
    scope: 'afterFault',
    async inject(ctx) {
      await withAdmin(async (a) => {
        await a.deleteTopics({ topics: [ctx.topic] });
        const end = Date.now() + 30_000;
        while ((await a.listTopics()).includes(ctx.topic) && Date.now() < end) await sleep(200);
      });
      ctx.writer.resume();
      ctx.writer.start();
      await sleep(20_000);
      await createTopic(ctx.topic, 3);
    },
    async fix() {
      /* the topic is back */
    },
  },
  {
    name: 'checkpoint file replaced by a directory',
    description: "The checkpoint file's place is taken by a directory (every save fails, other-issues window 60 s); once the task failed, the directory is removed, the last checkpoint put back and the task restarted by hand.",
    phases: [...BOTH],
    require: { kind: 'fail', code: /CHECKPOINT_WRITE_FAILED/, what: 'CHECKPOINT_WRITE_FAILED naming the file' },
    async inject(ctx) {
      const saved = await tools.saveCheckpoint(ctx);
      (ctx as RunContext & { savedCheckpoint?: string }).savedCheckpoint = saved;
      await tools.occupyCheckpoint(ctx);
      await holdUntilFailed(ctx, 150_000);
    },
    async fix(ctx) {
      const saved = (ctx as RunContext & { savedCheckpoint?: string }).savedCheckpoint;
      if (saved !== undefined) await tools.restoreCheckpoint(ctx, saved);
    },
  },
];

/** The short form for CI: three scenarios in incremental sync. */
/**
 * The same faults with exactly-once delivery (transactional writes, checkpoints committed with the
 * data in a Kafka topic): besides nothing lost or wrong, no streamed change may be read twice.
 */
const EXACTLY_ONCE = ['runtime SIGKILL', 'runtime SIGSTOP 40 s', 'broker SIGKILL, back after 20 s', 'network cut to Kafka 15 s', 'PostgreSQL restart -m fast'];
for (const name of EXACTLY_ONCE) {
  const base = scenarios.find((x) => x.name === name);
  if (!base) throw new Error(`faults/scenarios.ts: no scenario named "${name}" to run exactly-once`);
  scenarios.push({
    ...base,
    name: `${name}, exactly-once`,
    description: `${base.description.replace('from its file checkpoint', 'from its committed checkpoint')} Exactly-once: transactional writes, checkpoint committed with the data.`,
    phases: ['incremental'],
    exactlyOnce: true,
  });
}

export const QUICK: Array<[string, 'full' | 'incremental']> = [
  ['runtime SIGKILL', 'incremental'],
  ['network cut to Kafka 15 s', 'incremental'],
  ['PostgreSQL restart -m fast', 'incremental'],
  ['runtime SIGKILL, exactly-once', 'incremental'],
];
