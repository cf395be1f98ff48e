import { fullSyncOptionsOf } from './fullSyncOptions.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { first, firstValueFrom, timeout } from 'rxjs';
import type { Admin, Assigner, Consumer, Kafka, KafkaConfig, PartitionAssigner, Producer } from 'kafkajs';
import { loadKafkajs, newKafkaClient } from '../kafka/kafkajs.js';
import { createTopicsAndWait } from '../kafka/createTopics.js';
import { checkpointStoreFor } from '../checkpoints/storeFor.js';
import type { Checkpoint, CheckpointStore } from '../checkpoints/store.js';
import { validateTaskConfig } from '../config/load.js';
import type { TaskConfigInput, TaskOptions } from '../config/schema.js';
import type { Logger } from '../core/contracts.js';
import { FatalError } from '../core/errors.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime/createRuntime.js';
import { defaultRegistry } from '../runtime/defaults.js';
import type { Registry } from '../runtime/registry.js';
import type { TaskRunner } from '../runtime/task.js';
import { kafkaClientConfig, type KafkaConnection } from '../sinks/kafka/clientConfig.js';
import { replicationApplicationName } from '../sources/postgres/slot.js';
import type { ChunkTask } from '../runtime/chunkExecutor.js';
import { assignTasks } from './assign.js';
import type { ChunkChannel } from './chunkChannel.js';
import { ChunkCopiers } from './chunkCopiers.js';
import { ChunkHelper } from './chunkHelper.js';
import { ChunkBoard, chunkRecordKey, type ChunkRecord } from './chunkOffers.js';
import { spreadingExecutor, type SpreadingExecutor } from './chunkSpread.js';
import { kafkaConnectionOf } from './connection.js';

/** Options of {@link joinCluster}. */
export interface ClusterOptions {
  /** The cluster's name: the Kafka consumer group, and the prefix of its internal topics. */
  groupId: string;
  /** Where the cluster coordinates (brokers, SASL, TLS). */
  brokers: readonly string[] | KafkaConnection;
  /** This worker's name in `assignment()` and the status topic. Default: `<hostname>-<pid>`. */
  workerId?: string;
  /** The group's session timeout: a worker silent this long loses its tasks. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** Heartbeat interval. Default: a fifth of the session timeout. */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for every member to rejoin. Default: the session timeout. */
  rebalanceTimeoutMs?: number;
  /**
   * This worker's management API as the other workers reach it (`http://host:port`): advertised in
   * the group, so a worker forwards writes to the leader's API, and reads of a task to its owner's.
   */
  url?: string;
  /** Options of the worker's runtime (`checkpoints` is the cluster's: the positions topic). */
  runtime?: Omit<RuntimeOptions, 'checkpoints' | 'chunkExecutor'>;
  /**
   * Spreading one task's full sync over the workers (README "Running a cluster"). Default: on,
   * each worker copying up to 2 chunks at a time for other workers' tasks.
   */
  fullSync?: ClusterFullSyncOptions;
  logger?: Logger;
}

/** How a cluster shares the full-sync chunks of its tasks ({@link ClusterOptions.fullSync}). */
export interface ClusterFullSyncOptions {
  /**
   * The owner of a task in full sync offers the chunks its own `fullSync.parallelism` cannot start
   * at once to the other workers. Default true; false copies every chunk on the owner.
   */
  spread?: boolean;
  /** Chunks this worker copies at a time for other workers' tasks; 0: it never helps. Default 2. */
  helpers?: number;
  /** Chunks of one task in flight across the cluster, at most (owner and helpers). Default 64. */
  maxInFlight?: number;
  /** A helper not heard from for this long loses its chunk, which is copied again. Default: the session timeout. */
  helperTimeoutMs?: number;
}

/** One task configuration as the configs topic holds it. */
export interface ClusterTaskRecord {
  config: TaskConfigInput;
  /** Relative cost for the assignment; default 1. */
  weight?: number;
  /** Target state: the worker holding the task keeps it paused (set by `pauseTask`, cleared by `resumeTask`). */
  paused?: boolean;
}

/** A worker as the group knows it. */
export interface ClusterWorker {
  workerId: string;
  memberId: string;
  /** Its management API, when it serves one (`ClusterOptions.url`). */
  url?: string;
}

/** The cluster as `GET /cluster` shows it. */
export interface ClusterAssignment {
  groupId: string;
  /** The assignment's epoch (one per rebalance; positions and status records carry it). */
  epoch: number;
  /** Group state as the coordinator reports it (`Stable` when no rebalance runs). */
  state: string;
  /** The group leader (it computed the assignment; writes through the HTTP API go to it). */
  leader: ClusterWorker | null;
  workers: Array<ClusterWorker & { tasks: string[] }>;
  /** Configured tasks no member holds (only during a rebalance, or with no worker). */
  unassigned: string[];
}

/** A record of the status topic. */
export interface ClusterStatusRecord {
  workerId: string;
  epoch: number;
  at: number;
  tasks?: string[];
  task?: string;
  state?: string;
  reason?: string;
}

interface MemberMeta {
  workerId: string;
  tasks: string[];
  epoch: number;
  /** How far the member read the configs topic: a change makes its rejoin start a rebalance. */
  configsRead?: string;
  url?: string;
}
interface AssignmentData {
  epoch: number;
  /** The leader's member id. */
  leader?: string;
  workerIds: Record<string, string>;
  urls?: Record<string, string>;
  members: Record<string, string[]>;
  tasks: Array<{ name: string; record: ClusterTaskRecord }>;
}

const ASSIGNER = 'TributaryTaskAssigner';
const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FENCED_CODES = new Set(['PRODUCER_FENCED', 'CLUSTER_OWNERSHIP_LOST']);

/** The internal topics of a cluster named `groupId`. */
export function clusterTopics(groupId: string): { configs: string; status: string; positions: string; chunks: string } {
  return { configs: `${groupId}-configs`, status: `${groupId}-status`, positions: `${groupId}-positions`, chunks: `${groupId}-chunks` };
}

/**
 * A worker of a Tributary cluster: several processes share the tasks of the configs topic,
 * coordinated by Kafka's group protocol (see README "Running a cluster"). Made by {@link joinCluster}.
 */
export class Cluster {
  readonly workerId: string;
  readonly topics: ReturnType<typeof clusterTopics>;
  /** The worker's own runtime: the tasks assigned to this worker (do not add tasks to it directly). */
  readonly runtime: Runtime;
  /** The plug-ins this worker runs tasks with: task configs are validated against their schemas. */
  private readonly registry: Registry;
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private readonly client: Pick<KafkaConfig, 'brokers' | 'sasl' | 'ssl' | 'clientId'>;
  private readonly sessionTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly rebalanceTimeout: number;
  private admin: Admin | null = null;
  private producer: Producer | null = null;
  private reader: Consumer | null = null;
  private group: Consumer | null = null;
  /** Task configurations by name, as the configs topic has them now. */
  private readonly configs = new Map<string, ClusterTaskRecord>();
  /** The status topic, latest record per key (an older epoch never replaces a newer one). */
  private readonly status = new Map<string, ClusterStatusRecord>();
  /** Next offset the reader will read, per topic (single-partition configs, status partition 0). */
  private readonly readTo = new Map<string, bigint>();
  private memberId: string | null = null;
  private epoch = 0;
  /** Tasks this worker holds by its latest assignment, with their records. */
  private assigned = new Map<string, ClusterTaskRecord>();
  private lastAssignment: AssignmentData | null = null;
  private lastBeat = 0;
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly stores = new Map<string, CheckpointStore>();
  private readonly restarts = new Map<string, number>();
  /** The config each running task was started with (JSON), to notice a changed one. */
  private readonly startedWith = new Map<string, string>();
  private watchdog: NodeJS.Timeout | null = null;
  /** True while this worker has not heard from the coordinator within its lease (tasks stopped). */
  private leaseLost = false;
  /** The leader's member id, from the latest join. */
  private leaderId: string | null = null;
  /** From the start of a rebalance until this worker has read its new assignment. */
  private rebalancingNow = true;
  /** Tasks removed from the cluster that this worker releases (its ownership checks let them through). */
  private readonly releasing = new Set<string>();
  /**
   * Tasks this worker released: their position was deleted, and a last confirm racing the release
   * (the pipeline closing as the task leaves its phase) must not write it back.
   */
  private readonly released = new Set<string>();
  /** Tasks removed while this worker read the configs, with their last record, until one is released. */
  private readonly removed = new Map<string, ClusterTaskRecord>();
  /** Full-sync chunks offered in the chunks topic, as read. */
  private readonly chunkBoard = new ChunkBoard();
  private readonly chunkHelper: ChunkHelper;
  private readonly chunkCopiers: ChunkCopiers;
  /** The spreading executor of each task this worker runs (for the summary when its full sync ends). */
  private readonly spreads = new Map<string, SpreadingExecutor>();

  constructor(private readonly opts: ClusterOptions) {
    this.workerId = opts.workerId ?? `${hostname()}-${process.pid}`;
    this.topics = clusterTopics(opts.groupId);
    this.logger = opts.logger ?? opts.runtime?.logger ?? silentLogger;
    const c: KafkaConnection = Array.isArray(opts.brokers) ? { brokers: opts.brokers as readonly string[] } : (opts.brokers as KafkaConnection);
    this.client = kafkaClientConfig({ ...c, clientId: `tributary-cluster-${this.workerId}` });
    this.kafka = newKafkaClient(this.client);
    this.sessionTimeout = opts.sessionTimeoutMs ?? 10_000;
    this.heartbeatInterval = opts.heartbeatIntervalMs ?? Math.max(500, Math.floor(this.sessionTimeout / 5));
    this.rebalanceTimeout = opts.rebalanceTimeoutMs ?? this.sessionTimeout;
    this.registry = this.guardedRegistry(opts.runtime?.registry ?? defaultRegistry());
    const fullSync = fullSyncOptionsOf(opts.fullSync, this.sessionTimeout);
    const spread = fullSync.spread;
    const silenceMs = fullSync.helperTimeoutMs;
    const channel = this.chunkChannel();
    this.chunkCopiers = new ChunkCopiers({ configOf: (task) => this.helpableConfig(task), registry: this.registry, logger: this.logger });
    this.chunkHelper = new ChunkHelper(channel, {
      capacity: fullSync.helpers,
      silenceMs,
      aliveEveryMs: Math.max(200, Math.floor(silenceMs / 5)),
      ownerOf: (task) => this.ownerOf(task)?.workerId ?? null,
      active: () => !this.stopped && !this.leaseLost && Date.now() - this.lastBeat < this.sessionTimeout - this.heartbeatInterval,
      copier: (task) => this.chunkCopiers.copier(task),
    });
    const chunkExecutor = spread
      ? (task: ChunkTask) => {
          const executor = spreadingExecutor(task, channel, { maxInFlight: fullSync.maxInFlight, silenceMs, maxRemoteFailures: 3 });
          this.spreads.set(task.id, executor);
          return executor;
        }
      : undefined;
    this.runtime = createRuntime({ ...opts.runtime, registry: this.registry, checkpoints: this.checkpointStore(), ...(chunkExecutor ? { chunkExecutor } : {}) });
  }

  // ---- public -------------------------------------------------------------------------------

  /** Creates or checks the internal topics, reads the configs, joins the group. */
  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.ensureTopics();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    await this.startReader();
    await this.caughtUp(15_000);
    await this.joinGroup();
    this.chunkHelper.start();
  }

  /**
   * Adds or replaces a task of the cluster (validated here; the assignment picks it up at the next
   * rebalance). A paused task stays paused.
   */
  async putTask(config: TaskConfigInput, opts: { weight?: number } = {}): Promise<void> {
    const cfg = validateTaskConfig(config, { schema: this.registry.taskSchemas().task }) as TaskOptions;
    const paused = this.configs.get(cfg.name)?.paused;
    const record: ClusterTaskRecord = { config, ...(opts.weight !== undefined ? { weight: opts.weight } : {}), ...(paused ? { paused } : {}) };
    await this.send(this.topics.configs, cfg.name, JSON.stringify(record));
  }

  /**
   * Removes a task from the cluster (a null record: compaction forgets it). The worker that runs it
   * stops it and releases its source objects (slot, publication, helpers) and its position.
   */
  async removeTask(name: string): Promise<void> {
    await this.send(this.topics.configs, name, null);
  }

  /** Pauses a task wherever it runs: a target state kept in its record (a worker taking it over keeps it paused). */
  async pauseTask(name: string): Promise<void> {
    await this.setTarget(name, true);
  }

  /** Resumes a task paused by {@link pauseTask}. */
  async resumeTask(name: string): Promise<void> {
    await this.setTarget(name, false);
  }

  private async setTarget(name: string, paused: boolean): Promise<void> {
    const record = this.configs.get(name);
    if (!record) throw new FatalError('UNKNOWN_TASK', `No task named '${name}' in cluster ${this.opts.groupId}.`, { object: name, fix: 'GET /cluster lists the tasks.' });
    const { paused: _was, ...rest } = record;
    await this.send(this.topics.configs, name, JSON.stringify({ ...rest, ...(paused ? { paused } : {}) } satisfies ClusterTaskRecord));
  }

  /** A task's record as this worker last read the configs topic. */
  record(name: string): ClusterTaskRecord | undefined {
    return this.configs.get(name);
  }

  /**
   * True while the group rebalances: the coordinator says the group is not `Stable`, or this worker
   * has not read its new assignment yet (or is out of touch with the group).
   */
  async rebalancing(): Promise<boolean> {
    if (this.rebalancingNow || this.leaseLost || this.stopped || !this.admin) return true;
    const { groups } = await this.admin.describeGroups([this.opts.groupId]);
    return groups[0]?.state !== 'Stable';
  }

  /** The group's leader as of this worker's latest assignment (`self`: this worker). */
  leader(): (ClusterWorker & { self: boolean }) | null {
    const a = this.lastAssignment;
    const id = a?.leader ?? this.leaderId;
    if (!a || !id) return null;
    return { ...workerOf(a, id), self: id === this.memberId };
  }

  /** The worker holding `task` by this worker's latest assignment (`self`: this worker). */
  ownerOf(task: string): (ClusterWorker & { self: boolean }) | null {
    const a = this.lastAssignment;
    const memberId = a ? Object.keys(a.members).find((m) => a.members[m]?.includes(task)) : undefined;
    if (!a || !memberId) return null;
    return { ...workerOf(a, memberId), self: memberId === this.memberId };
  }

  /** Task names this worker runs now. */
  running(): string[] {
    return this.runtime.list().map((t) => t.id).sort();
  }

  /** The tasks configured in the cluster (as this worker last read the configs topic). */
  tasks(): string[] {
    return [...this.configs.keys()].sort();
  }

  /** The latest status records (worker and task records, each with its epoch). */
  statusRecords(): ClusterStatusRecord[] {
    return [...this.status.values()];
  }

  /**
   * Worker → tasks, as the group coordinator holds the current assignment (any worker answers for
   * the whole cluster): what `GET /cluster` should return.
   */
  async assignment(): Promise<ClusterAssignment> {
    const admin = this.admin;
    if (!admin) throw new FatalError('CLUSTER_NOT_STARTED', 'The cluster worker has not started.', { fix: 'Call start() (joinCluster does).' });
    const a = await describeGroupAssignment(admin, this.opts.groupId, this.tasks());
    return { ...a, epoch: Math.max(a.epoch, this.epoch) };
  }

  /** Stops this worker's tasks (confirming and checkpointing what was acknowledged), then leaves the group. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.chunkHelper.stop();
    await this.reconciling.catch(() => undefined);
    await Promise.all(this.runtime.list().map((t) => this.dropTask(t.id, 'worker stopping')));
    await this.group?.disconnect().catch(() => undefined);
    await this.reader?.disconnect().catch(() => undefined);
    await this.chunkCopiers.closeAll();
    await Promise.all([...this.stores.values()].map((s) => s.close?.().catch(() => undefined)));
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  /**
   * Throws `CLUSTER_OWNERSHIP_LOST` unless this worker holds `task` by its latest assignment and its
   * membership is fresh (a heartbeat within the session timeout): a worker that was paused or cut
   * off may already have lost the task, and must not recover, write a position or restart it.
   */
  assertOwner(task: string): void {
    const fresh = Date.now() - this.lastBeat < this.sessionTimeout - this.heartbeatInterval;
    const held = this.assigned.has(task) || this.releasing.has(task);
    if (this.stopped || !held || !fresh) {
      throw new FatalError('CLUSTER_OWNERSHIP_LOST', `Task ${task}: worker ${this.workerId} no longer holds it (${held ? 'no heartbeat within the session timeout' : 'assigned elsewhere'}).`, {
        object: task,
        fix: 'Nothing to do: the task runs on the worker the group assigned it to.',
      });
    }
    const rec = this.status.get(`task/${task}`);
    if (rec && rec.state === 'running' && rec.workerId !== this.workerId && rec.epoch > this.epoch) {
      throw new FatalError('CLUSTER_OWNERSHIP_LOST', `Task ${task}: worker ${rec.workerId} runs it at epoch ${rec.epoch}, newer than this worker's ${this.epoch}.`, { object: task });
    }
  }

  // ---- topics and reading -------------------------------------------------------------------

  private async ensureTopics(): Promise<void> {
    const admin = this.admin as Admin;
    const want = [
      { topic: this.topics.configs, numPartitions: 1 },
      { topic: this.topics.status, numPartitions: 1 },
      { topic: this.topics.positions, numPartitions: 1 },
      { topic: this.topics.chunks, numPartitions: 1 },
    ];
    const existing = new Set(await admin.listTopics());
    const missing = want.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      // Another worker starting at the same time may create them first.
      await createTopicsAndWait(admin, missing.map((t) => ({ ...t, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] })));
    }
    // Existing topics are checked: compacted, and the configs topic has one partition (its order is the config history).
    const meta = await admin.fetchTopicMetadata({ topics: want.map((t) => t.topic) });
    // The configs and chunks topics have one partition: their order is the config history, and who claimed a chunk first.
    for (const name of [this.topics.configs, this.topics.chunks]) {
      const t = meta.topics.find((x) => x.name === name);
      if (t && t.partitions.length !== 1) {
        throw new FatalError('CLUSTER_TOPIC', `Topic ${name} has ${t.partitions.length} partitions; the cluster needs exactly one.`, { object: name, fix: 'Delete it, or choose another group id.' });
      }
    }
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: want.map((t) => ({ type: 2, name: t.topic, configNames: ['cleanup.policy'] })) });
    for (const r of described.resources) {
      const policy = r.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? '';
      if (!policy.includes('compact')) {
        throw new FatalError('CLUSTER_TOPIC', `Topic ${r.resourceName} has cleanup.policy=${policy}; the cluster's topics must be compacted.`, { object: r.resourceName, fix: `kafka-configs --alter --entity-type topics --entity-name ${r.resourceName} --add-config cleanup.policy=compact` });
      }
    }
  }

  private async send(topic: string, key: string, value: string | null): Promise<void> {
    const p = this.producer;
    if (!p) throw new FatalError('CLUSTER_NOT_STARTED', 'The cluster worker has not started.', { fix: 'Call start() (joinCluster does).' });
    await p.send({ topic, acks: -1, messages: [{ key, value }] });
  }

  /** Tails the configs and status topics from their start, into `configs` and `status`. */
  private async startReader(): Promise<void> {
    const reader = this.kafka.consumer({ groupId: `${this.opts.groupId}-reader-${this.workerId}-${randomUUID()}`, maxWaitTimeInMs: 200 });
    this.reader = reader;
    await reader.connect();
    await reader.subscribe({ topics: [this.topics.configs, this.topics.status, this.topics.chunks], fromBeginning: true });
    reader.on(reader.events.END_BATCH_PROCESS, (ev) => {
      const next = BigInt(ev.payload.lastOffset) + 1n;
      if (next > (this.readTo.get(ev.payload.topic) ?? 0n)) this.readTo.set(ev.payload.topic, next);
    });
    await reader.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => {
        const key = message.key?.toString() ?? '';
        const value = message.value ? message.value.toString() : null;
        if (topic === this.topics.chunks) {
          if (value === null) this.chunkBoard.applyDeleted(key);
          else this.chunkBoard.apply(JSON.parse(value) as ChunkRecord, Date.now());
        } else if (topic === this.topics.configs) {
          const prev = this.configs.get(key);
          if (value === null) {
            if (prev) this.removed.set(key, prev);
            this.configs.delete(key);
          } else {
            this.removed.delete(key);
            this.configs.set(key, JSON.parse(value) as ClusterTaskRecord);
          }
        } else if (value !== null) {
          const rec = JSON.parse(value) as ClusterStatusRecord;
          const prev = this.status.get(key);
          if (!prev || prev.epoch <= rec.epoch) this.status.set(key, rec);
        }
        const next = BigInt(message.offset) + 1n;
        if (next > (this.readTo.get(topic) ?? 0n)) this.readTo.set(topic, next);
      },
    });
  }

  /** Waits until the reader has read both topics to the ends they have now. */
  private async caughtUp(timeoutMs: number): Promise<void> {
    const admin = this.admin as Admin;
    const ends = new Map<string, bigint>();
    for (const topic of [this.topics.configs, this.topics.status]) {
      const offsets = await admin.fetchTopicOffsets(topic);
      ends.set(topic, offsets.reduce((m, o) => (BigInt(o.high) > m ? BigInt(o.high) : m), 0n));
    }
    const end = Date.now() + timeoutMs;
    while ([...ends].some(([t, high]) => (this.readTo.get(t) ?? 0n) < high)) {
      if (Date.now() > end) throw new FatalError('CLUSTER_TOPIC', `Could not read ${[...ends.keys()].join(', ')} to their end within ${timeoutMs} ms.`, { fix: 'Check the brokers.' });
      await sleep(50);
    }
  }

  // ---- membership and assignment -----------------------------------------------------------

  private assigner(): PartitionAssigner {
    return (): Assigner => ({
      name: ASSIGNER,
      version: 1,
      assign: async ({ members }) => {
        // The leader reads the configs to their end first: a task put just before is assigned.
        await this.caughtUp(5_000).catch((err: unknown) => this.logger.warn('cluster: configs not read to the end before assigning', { error: (err as Error).message }));
        const metas = members.map((m) => ({ memberId: m.memberId, meta: decodeMeta(m.memberMetadata) ?? { workerId: m.memberId, tasks: [], epoch: 0 } }));
        const epoch = Math.max(this.epoch, this.status.get('epoch')?.epoch ?? 0, ...metas.map((m) => m.meta.epoch)) + 1;
        const tasks = [...this.configs].map(([name, record]) => ({ name, ...(record.weight !== undefined ? { weight: record.weight } : {}) }));
        const plan = assignTasks(
          metas.map((m) => ({ memberId: m.memberId, tasks: m.meta.tasks })),
          tasks,
        );
        const urls = Object.fromEntries(metas.flatMap((m) => (m.meta.url ? [[m.memberId, m.meta.url]] : [])));
        // The assignor runs on the leader only: the member with this worker's id is the leader.
        const leader = metas.find((m) => m.meta.workerId === this.workerId)?.memberId;
        const data: Omit<AssignmentData, 'tasks'> = { epoch, ...(leader ? { leader } : {}), workerIds: Object.fromEntries(metas.map((m) => [m.memberId, m.meta.workerId])), urls, members: Object.fromEntries(plan) };
        await this.send(this.topics.status, 'epoch', JSON.stringify({ workerId: this.workerId, epoch, at: Date.now(), assignment: data }));
        this.logger.info('cluster: assignment', { epoch, members: data.members });
        return members.map((m) => {
          const mine = plan.get(m.memberId) ?? [];
          const full: AssignmentData = { ...data, tasks: mine.flatMap((name) => (this.configs.has(name) ? [{ name, record: this.configs.get(name) as ClusterTaskRecord }] : [])) };
          // Every member also follows the configs topic's one partition: a new record there makes it rejoin.
          return { memberId: m.memberId, memberAssignment: loadKafkajs().AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: { [this.topics.configs]: [0] }, userData: Buffer.from(JSON.stringify(full)) }) };
        });
      },
      protocol: ({ topics }) => ({
        name: ASSIGNER,
        metadata: loadKafkajs().AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify({ workerId: this.workerId, tasks: this.running(), epoch: this.epoch, configsRead: String(this.readTo.get(this.topics.configs) ?? 0n), ...(this.opts.url ? { url: this.opts.url } : {}) } satisfies MemberMeta)) }),
      }),
    });
  }

  private async joinGroup(): Promise<void> {
    const group = this.kafka.consumer({
      groupId: this.opts.groupId,
      sessionTimeout: this.sessionTimeout,
      rebalanceTimeout: this.rebalanceTimeout,
      heartbeatInterval: this.heartbeatInterval,
      maxWaitTimeInMs: Math.min(1000, this.heartbeatInterval),
      partitionAssigners: [this.assigner()],
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 2000 },
    });
    this.group = group;
    group.on(group.events.HEARTBEAT, () => {
      this.lastBeat = Date.now();
      if (this.leaseLost) {
        // Still a member of the same generation (a heartbeat succeeded): take the assignment back.
        this.leaseLost = false;
        this.assigned = new Map((this.lastAssignment?.tasks ?? []).map((t) => [t.name, t.record]));
        this.logger.info('cluster: membership confirmed again; restarting this worker\'s tasks', { epoch: this.epoch });
        this.reconciling = this.reconciling.then(() => this.reconcile()).catch(() => undefined);
      }
    });
    group.on(group.events.REBALANCING, () => {
      this.rebalancingNow = true;
    });
    group.on(group.events.GROUP_JOIN, (ev) => {
      this.lastBeat = Date.now();
      this.leaseLost = false;
      this.memberId = ev.payload.memberId;
      this.leaderId = ev.payload.leaderId;
      this.rebalancingNow = true;
      // The new assignment is read at once (a start in progress sees it), the tasks follow in order.
      const read = this.onJoin().finally(() => {
        this.rebalancingNow = false;
      });
      this.reconciling = this.reconciling
        .then(async () => {
          if (await read) await this.reconcile();
        })
        .catch((err: unknown) => this.logger.error('cluster: reconcile failed', { error: (err as Error).message }));
    });
    group.on(group.events.CRASH, (ev) => {
      this.logger.error('cluster: group consumer crashed', { error: ev.payload.error.message, restart: ev.payload.restart });
      if (!ev.payload.restart && !this.stopped) {
        // Out of the group for good: nothing this worker runs is its own any more.
        this.assigned = new Map();
        this.reconciling = this.reconciling.then(() => this.reconcile()).catch(() => undefined);
      }
    });
    // A worker that has not heard from the coordinator for nearly the session timeout may already
    // be out of the group (paused, cut off): it stops its tasks by itself, before anything else it
    // would do with them (a retry touching the source, a position write).
    this.watchdog = setInterval(() => {
      if (this.stopped || this.leaseLost || this.lastBeat === 0) return;
      const silent = Date.now() - this.lastBeat;
      if (silent < this.sessionTimeout - this.heartbeatInterval) return;
      this.leaseLost = true;
      this.assigned = new Map();
      this.logger.warn('cluster: no heartbeat within the session timeout; stopping this worker\'s tasks until it rejoins', { silentMs: silent, tasks: this.running() });
      void Promise.all(this.runtime.list().map((t) => this.dropTask(t.id, 'no heartbeat within the session timeout')));
    }, 200);
    await group.connect();
    await group.subscribe({ topics: [this.topics.configs], fromBeginning: false });
    await group.run({
      autoCommit: false,
      // A task put or removed: once the reader has it, rejoin (the changed join metadata makes the
      // coordinator start a rebalance, and the leader assigns the new set of tasks).
      eachMessage: async ({ message }) => {
        const offset = BigInt(message.offset);
        const until = Date.now() + 5_000;
        while ((this.readTo.get(this.topics.configs) ?? 0n) <= offset && Date.now() < until) await sleep(50);
        this.logger.info('cluster: task configs changed; rejoining the group', { key: message.key?.toString() });
        // kafkajs rejoins on an error whose type is REBALANCE_IN_PROGRESS (its `isRebalancing`).
        throw Object.assign(new Error('task configs changed'), { type: 'REBALANCE_IN_PROGRESS' });
      },
    });
  }

  /** After a join: this member's assignment as the coordinator stored it; true when it is newer. */
  private async onJoin(): Promise<boolean> {
    const admin = this.admin as Admin;
    for (let attempt = 0; attempt < 50 && !this.stopped; attempt++) {
      const { groups } = await admin.describeGroups([this.opts.groupId]).catch(() => ({ groups: [] }));
      const g = groups[0];
      const me = g?.members.find((m) => m.memberId === this.memberId);
      if (g?.state === 'Stable' && me) {
        const data = decodeAssignment(me.memberAssignment);
        if (data && data.epoch >= this.epoch) {
          this.epoch = data.epoch;
          this.lastAssignment = data;
          this.assigned = new Map(data.tasks.map((t) => [t.name, t.record]));
          return true;
        }
        return false;
      }
      await sleep(200);
    }
    return false;
  }

  /** Stops the tasks this worker lost (first), then starts the ones it gained. */
  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const lost = this.runtime.list().filter((t) => !this.assigned.has(t.id));
    // A task lost because it was removed from the cluster is released, not handed over: read the
    // configs to their end first, so a task merely moved is never mistaken for a removed one.
    if (lost.length > 0) await this.caughtUp(5_000).catch((err: unknown) => this.logger.warn('cluster: configs not read to the end before stopping tasks', { error: (err as Error).message }));
    await Promise.all(lost.map((t) => (this.configs.has(t.id) ? this.dropTask(t.id, 'assigned elsewhere') : this.releaseTask(t.id))));
    // A task kept whose config changed: modified in place (stop, checkpoint, continue under the new
    // config; tables it did not cover get their full sync), or restarted when its endpoints changed.
    for (const [name, record] of [...this.assigned]) {
      const was = this.startedWith.get(name);
      if (was === undefined || was === JSON.stringify(record.config) || !this.running().includes(name)) continue;
      try {
        const runner = await this.runtime.modify(name, this.taskOptions(record));
        this.startedWith.set(name, JSON.stringify(record.config));
        this.watch(runner);
        this.logger.info('cluster: task modified', { task: name });
      } catch (err) {
        this.logger.warn('cluster: task config changed beyond modify; restarting it', { task: name, error: (err as Error).message });
        await this.dropTask(name, 'config changed');
      }
    }
    const running = new Set(this.running());
    for (const [name, record] of [...this.assigned]) {
      if (running.has(name)) this.applyTarget(name, record);
      if (running.has(name) || !this.assigned.has(name)) continue;
      await this.startTask(name, record).catch((err: unknown) => this.logger.error('cluster: could not start task', { task: name, error: (err as Error).message }));
    }
    await this.send(this.topics.status, `worker/${this.workerId}`, JSON.stringify({ workerId: this.workerId, epoch: this.epoch, at: Date.now(), tasks: this.running() } satisfies ClusterStatusRecord)).catch(() => undefined);
    await this.releaseOrphans();
  }

  /** The task's config as the cluster runs it: positions in the cluster's topic. */
  private taskOptions(record: ClusterTaskRecord): TaskOptions {
    const cfg = validateTaskConfig(record.config, { schema: this.registry.taskSchemas().task }) as TaskOptions;
    return { ...cfg, checkpoints: { store: 'kafka', topic: this.topics.positions } } as TaskOptions;
  }

  private async startTask(name: string, record: ClusterTaskRecord): Promise<void> {
    const cfg = this.taskOptions(record);
    this.released.delete(name);
    await this.awaitRelease(name);
    await this.takeOver(cfg);
    if (!this.assigned.has(name) || this.stopped) return;
    const runner = this.runtime.add(cfg);
    this.startedWith.set(name, JSON.stringify(record.config));
    this.watch(runner);
    runner.start();
    this.logger.info('cluster: task started', { task: name, epoch: this.epoch });
    // One task at a time through its prechecks and source setup (slot, publication, helpers).
    const until = Date.now() + 30_000;
    while (Date.now() < until && this.assigned.has(name) && !this.stopped && ['idle', 'prechecking', 'precheckReview', 'awaitingAlertIgnore'].includes(runner.status.state)) await sleep(100);
    await this.send(this.topics.status, `task/${name}`, JSON.stringify({ workerId: this.workerId, epoch: this.epoch, at: Date.now(), task: name, state: 'running' } satisfies ClusterStatusRecord)).catch(() => undefined);
    this.applyTarget(name, record);
  }

  /** A running task follows its record's target state: paused or not. */
  private applyTarget(name: string, record: ClusterTaskRecord): void {
    const runner = this.runtime.list().find((t) => t.id === name);
    if (!runner) return;
    const paused = runner.status.state === 'paused';
    if (record.paused === true && !paused) {
      this.logger.info('cluster: pausing task (target state)', { task: name });
      runner.pause();
    } else if (record.paused !== true && paused) {
      this.logger.info('cluster: resuming task (target state)', { task: name });
      runner.resume();
    }
  }

  /**
   * A task removed from the cluster, stopped by the worker that ran it and released there: slot,
   * publication and helper objects dropped, position deleted (as `runtime.release` does).
   */
  private async releaseTask(name: string): Promise<void> {
    const runner = this.runtime.list().find((t) => t.id === name);
    if (!runner) return;
    this.releasing.add(name);
    let state: string | undefined;
    try {
      const ended = firstValueFrom(runner.status$.pipe(first((st) => st.state === 'released' || st.state === 'releaseFailed'), timeout(60_000))).catch(() => runner.status);
      runner.release();
      state = (await ended).state;
      if (state === 'released') this.logger.info('cluster: removed task released (slot, publication, position)', { task: name });
      else this.logger.error('cluster: removed task not released; drop its slot and publication by hand', { task: name, state, error: runner.status.lastError?.message });
      await this.runtime.remove(name).catch((err: unknown) => this.logger.warn('cluster: forgetting a released task failed', { task: name, error: (err as Error).message }));
    } finally {
      this.releasing.delete(name);
    }
    const reason = 'removed from the cluster';
    await this.send(this.topics.status, `task/${name}`, JSON.stringify({ workerId: this.workerId, epoch: this.epoch, at: Date.now(), task: name, state: state ?? 'releaseFailed', reason } satisfies ClusterStatusRecord)).catch(() => undefined);
  }

  /**
   * The leader releases a removed task nobody will: its last status names a worker that is no
   * longer a member (dead, or out of the group), or none. The previous owner is fenced first, as by
   * a new owner (transactional id, replication connection), then the task is released here from its
   * last config without being started.
   */
  private async releaseOrphans(): Promise<void> {
    if (!this.leader()?.self || this.stopped) return;
    const members = new Set(Object.values(this.lastAssignment?.workerIds ?? {}));
    for (const [name, record] of [...this.removed]) {
      const rec = this.status.get(`task/${name}`);
      if (rec?.state === 'released') {
        this.removed.delete(name);
        continue;
      }
      if ((rec && members.has(rec.workerId)) || this.runtime.list().some((t) => t.id === name)) continue;
      this.logger.warn('cluster: releasing a removed task whose worker is gone', { task: name, previous: rec?.workerId });
      try {
        const cfg = this.taskOptions(record);
        await this.takeOver(cfg);
        this.releasing.add(name);
        this.runtime.add(cfg);
        await this.releaseTask(name);
      } catch (err) {
        this.logger.error('cluster: could not release a removed task; drop its slot and publication by hand', { task: name, error: (err as Error).message });
      } finally {
        this.releasing.delete(name);
      }
      this.removed.delete(name);
    }
  }

  /**
   * A task moved away from a worker that is still a member: that worker stops it (confirming and
   * checkpointing what was acknowledged) and says so in the status topic; the new owner waits for
   * that, up to the session timeout. A previous owner that left the group (dead, or paused past
   * its session) is not waited for: it is fenced.
   */
  private async awaitRelease(name: string): Promise<void> {
    const end = Date.now() + this.sessionTimeout;
    for (;;) {
      const rec = this.status.get(`task/${name}`);
      const members = new Set(Object.values(this.lastAssignment?.workerIds ?? {}));
      if (!rec || rec.state !== 'running' || rec.workerId === this.workerId || !members.has(rec.workerId)) return;
      if (Date.now() > end) {
        this.logger.warn('cluster: previous owner did not report the task stopped; taking it over', { task: name, previous: rec.workerId });
        return;
      }
      await sleep(100);
    }
  }

  /**
   * Before touching the source: fence the previous owner's transactional producer (exactly-once),
   * then end a replication connection of this task still attached to its slot (a paused worker's).
   */
  private async takeOver(cfg: TaskOptions): Promise<void> {
    const k = cfg.destination.kafka;
    if (k?.exactlyOnce) {
      const kafka = newKafkaClient(kafkaClientConfig(kafkaConnectionOf(k)));
      const producer = kafka.producer({ transactionalId: `tributary-${cfg.name}`, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        const tx = await producer.transaction(); // InitProducerId: bumps the epoch, fencing the old owner
        await tx.abort();
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    }
    const src = cfg.source as { type: string; uri?: string; host?: string; port?: number; user?: string; password?: string; database?: string };
    if (src.type === 'postgres') {
      const client = new pg.Client(src.uri ? { connectionString: src.uri } : { host: src.host, port: src.port, user: src.user, password: src.password, database: src.database });
      client.on('error', () => undefined); // surfaces through the awaited query
      try {
        await client.connect();
        const r = await client.query<{ pid: number }>(
          `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity WHERE application_name = $1 AND backend_type = 'walsender'`,
          [replicationApplicationName(cfg.name)],
        );
        if (r.rowCount) this.logger.warn('cluster: ended the previous owner\'s replication connection', { task: cfg.name, pids: r.rows.map((x) => x.pid) });
      } catch (err) {
        this.logger.warn('cluster: could not check the previous owner\'s replication connection', { task: cfg.name, error: (err as Error).message });
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /**
   * A task fenced by a newer owner stops by itself. Precheck warnings are logged and passed over:
   * a task moves between workers unattended, and its config was accepted when it was put.
   */
  private watch(runner: TaskRunner): void {
    const sub = runner.status$.subscribe((s) => {
      const spread = this.spreads.get(runner.id);
      if (spread && s.state === 'incremental') {
        this.spreads.delete(runner.id);
        const copiedBy = spread.copiedBy();
        if (Object.keys(copiedBy).length > 0) this.logger.info('cluster: full sync done', { task: runner.id, chunksCopiedBy: copiedBy });
      }
      if (s.state === 'awaitingAlertIgnore') {
        for (const i of s.precheck ?? []) {
          if (i.status !== 'warn') continue;
          this.logger.warn('cluster: precheck warning passed over', { task: runner.id, item: i.id, detail: i.detail });
          runner.ignoreAlert(i.id);
        }
      }
      if ((s.state === 'failed' || s.state === 'precheckFailed') && s.lastError && FENCED_CODES.has(s.lastError.code)) {
        sub.unsubscribe();
        this.logger.warn('cluster: task fenced, stopping it', { task: runner.id, code: s.lastError.code });
        const id = runner.id;
        const code = s.lastError.code;
        void this.dropTask(id, code).then(() => {
          // Fenced by a worker with an older view that has since stopped it: while this worker still
          // holds the task by the latest assignment, it takes the task back.
          if (!this.assigned.has(id) || this.stopped) return;
          const n = (this.restarts.get(id) ?? 0) + 1;
          this.restarts.set(id, n);
          if (n > 5) return;
          this.reconciling = this.reconciling
            .then(async () => {
              await sleep(Math.min(this.sessionTimeout, 1000 * n));
              const record = this.assigned.get(id);
              if (record && !this.stopped && !this.running().includes(id)) await this.startTask(id, record);
            })
            .catch((err: unknown) => this.logger.error('cluster: restart failed', { task: id, error: (err as Error).message }));
        });
      } else if (s.state === 'failed' && s.lastError) {
        // Workers starting tasks of one database at once can collide on catalog updates; a failed
        // task is started again (from its position) a few times while this worker holds it.
        sub.unsubscribe();
        const n = (this.restarts.get(runner.id) ?? 0) + 1;
        this.restarts.set(runner.id, n);
        if (n > 3) return void this.logger.error('cluster: task failed; not restarting it again', { task: runner.id, code: s.lastError.code, message: s.lastError.message });
        this.logger.warn('cluster: task failed; restarting it', { task: runner.id, attempt: n, code: s.lastError.code, message: s.lastError.message });
        const id = runner.id;
        this.reconciling = this.reconciling
          .then(async () => {
            await sleep(1000 * n);
            await this.dropTask(id, `failed: ${s.lastError?.code ?? ''}`);
            const record = this.assigned.get(id);
            if (record && !this.stopped) await this.startTask(id, record);
          })
          .catch((err: unknown) => this.logger.error('cluster: restart failed', { task: id, error: (err as Error).message }));
      }
    });
  }

  private async dropTask(name: string, reason: string): Promise<void> {
    if (!this.runtime.list().some((t) => t.id === name)) return;
    await this.runtime.remove(name).catch((err: unknown) => this.logger.warn('cluster: stopping task failed', { task: name, error: (err as Error).message }));
    this.logger.info('cluster: task stopped', { task: name, reason });
    await this.send(this.topics.status, `task/${name}`, JSON.stringify({ workerId: this.workerId, epoch: this.epoch, at: Date.now(), task: name, state: 'stopped', reason } satisfies ClusterStatusRecord)).catch(() => undefined);
  }

  // ---- full sync spread over the workers -------------------------------------------------------

  /** The chunks topic as chunkSpread.ts and chunkHelper.ts use it. */
  private chunkChannel(): ChunkChannel {
    const members = () => Object.values(this.lastAssignment?.workerIds ?? {});
    return {
      workerId: this.workerId,
      board: this.chunkBoard,
      logger: this.logger,
      publish: async (records) => {
        const p = this.producer;
        if (!p) throw new FatalError('CLUSTER_NOT_STARTED', 'The cluster worker has not started.', { fix: 'Call start() (joinCluster does).' });
        await p.send({ topic: this.topics.chunks, acks: -1, messages: records.map((r) => ({ key: chunkRecordKey(r), value: JSON.stringify(r) })) });
      },
      remove: async (keys) => {
        if (keys.length > 0) await this.producer?.send({ topic: this.topics.chunks, acks: -1, messages: keys.map((key) => ({ key, value: null })) });
      },
      member: (workerId) => members().includes(workerId),
      workers: () => Math.max(1, members().length),
    };
  }

  /** A task this worker may copy chunks of for its owner: configured, and valid here. */
  private helpableConfig(task: string): TaskOptions | null {
    const record = this.configs.get(task);
    if (!record) return null;
    try {
      return this.taskOptions(record);
    } catch {
      return null;
    }
  }

  // ---- guards --------------------------------------------------------------------------------

  /** The Kafka sink's `recover()` (taking over the transactional id) only while this worker owns the task. */
  private guardedRegistry(registry: Registry): Registry {
    const base = registry.sink('kafka');
    return registry.registerSink('kafka', (ctx, source) => {
      const sink = base(ctx, source);
      const recover = sink.recover?.bind(sink);
      if (recover) {
        sink.recover = async () => {
          this.assertOwner(ctx.config.name);
          return recover();
        };
      }
      return sink;
    });
  }

  /** Positions in the cluster's topic, each with the worker and epoch; written only by the owner. */
  private checkpointStore(): CheckpointStore {
    const storeOf = (taskId: string): CheckpointStore => {
      let s = this.stores.get(taskId);
      if (!s) {
        const record = this.assigned.get(taskId) ?? this.configs.get(taskId) ?? this.removed.get(taskId);
        if (!record) throw new FatalError('UNKNOWN_TASK', `No task named '${taskId}' in cluster ${this.opts.groupId}.`, { object: taskId });
        s = checkpointStoreFor(this.taskOptions(record));
        this.stores.set(taskId, s);
      }
      return s;
    };
    return {
      load: (taskId) => storeOf(taskId).load(taskId),
      save: async (cp: Checkpoint) => {
        if (this.released.has(cp.taskId)) return;
        this.assertOwner(cp.taskId);
        await storeOf(cp.taskId).save({ ...cp, owner: { workerId: this.workerId, epoch: this.epoch } } as Checkpoint);
      },
      delete: async (taskId) => {
        this.assertOwner(taskId);
        await storeOf(taskId).delete(taskId);
        // Released: from now on nothing writes its position back.
        if (this.releasing.has(taskId)) this.released.add(taskId);
      },
    };
  }

  /** The assignment this worker last received (for diagnostics). */
  get lastAssignmentData(): { epoch: number; members: Record<string, string[]>; workerIds: Record<string, string> } | null {
    return this.lastAssignment ? { epoch: this.lastAssignment.epoch, members: this.lastAssignment.members, workerIds: this.lastAssignment.workerIds } : null;
  }
}

function workerOf(a: Pick<AssignmentData, 'workerIds' | 'urls'>, memberId: string): ClusterWorker {
  const url = a.urls?.[memberId];
  return { workerId: a.workerIds[memberId] ?? memberId, memberId, ...(url ? { url } : {}) };
}

async function describeGroupAssignment(admin: Admin, groupId: string, configured: readonly string[]): Promise<ClusterAssignment> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0];
  const workers: ClusterAssignment['workers'] = [];
  let epoch = 0;
  let leaderId: string | undefined;
  for (const m of g?.members ?? []) {
    const data = decodeAssignment(m.memberAssignment);
    const meta = decodeMeta(m.memberMetadata);
    if (data && data.epoch >= epoch) {
      epoch = data.epoch;
      leaderId = data.leader;
    }
    workers.push({ workerId: meta?.workerId ?? m.clientId, memberId: m.memberId, ...(meta?.url ? { url: meta.url } : {}), tasks: data?.members[m.memberId] ?? [] });
  }
  workers.sort((a, b) => a.workerId.localeCompare(b.workerId));
  const held = new Set(workers.flatMap((w) => w.tasks));
  const lead = workers.find((w) => w.memberId === leaderId);
  const leader = lead ? { workerId: lead.workerId, memberId: lead.memberId, ...(lead.url ? { url: lead.url } : {}) } : null;
  return { groupId, epoch, state: g?.state ?? 'Unknown', leader, workers, unassigned: configured.filter((t) => !held.has(t)) };
}

/**
 * The cluster's assignment (worker → tasks) from outside it, without joining: for a CLI
 * `tributary cluster status` or a monitor. `unassigned` lists tasks of the configs topic no worker holds.
 */
export async function describeCluster(options: Pick<ClusterOptions, 'groupId' | 'brokers'>): Promise<ClusterAssignment> {
  const c: KafkaConnection = Array.isArray(options.brokers) ? { brokers: options.brokers as readonly string[] } : (options.brokers as KafkaConnection);
  const kafka = newKafkaClient(kafkaClientConfig({ ...c, clientId: 'tributary-cluster-describe' }));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = clusterTopics(options.groupId).configs;
    const configured = new Map<string, boolean>();
    if ((await admin.listTopics()).includes(topic)) {
      const high = (await admin.fetchTopicOffsets(topic)).reduce((m, o) => (BigInt(o.high) > m ? BigInt(o.high) : m), 0n);
      if (high > 0n) {
        const consumer = kafka.consumer({ groupId: `${options.groupId}-describe-${randomUUID()}`, maxWaitTimeInMs: 200 });
        await consumer.connect();
        try {
          await consumer.subscribe({ topic, fromBeginning: true });
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`could not read ${topic} to its end`)), 30_000);
            consumer.on(consumer.events.END_BATCH_PROCESS, (ev) => {
              if (BigInt(ev.payload.lastOffset) + 1n >= high) {
                clearTimeout(timer);
                resolve();
              }
            });
            consumer.run({ autoCommit: false, eachMessage: async ({ message }) => void configured.set(message.key?.toString() ?? '', message.value !== null) }).catch(reject);
          });
        } finally {
          await consumer.disconnect();
        }
      }
    }
    return await describeGroupAssignment(admin, options.groupId, [...configured].filter(([, live]) => live).map(([k]) => k).sort());
  } finally {
    await admin.disconnect();
  }
}

function decodeMeta(buf: Buffer): MemberMeta | null {
  try {
    const m = loadKafkajs().AssignerProtocol.MemberMetadata.decode(buf);
    return m?.userData?.length ? (JSON.parse(m.userData.toString()) as MemberMeta) : null;
  } catch {
    return null;
  }
}

function decodeAssignment(buf: Buffer): AssignmentData | null {
  try {
    const a = loadKafkajs().AssignerProtocol.MemberAssignment.decode(buf);
    return a?.userData?.length ? (JSON.parse(a.userData.toString()) as AssignmentData) : null;
  } catch {
    return null;
  }
}

/**
 * Starts a worker of the cluster `options.groupId`: creates or checks its internal topics, reads the
 * task configs, joins the group and runs the tasks assigned to it until `stop()`.
 *
 * @example
 * ```ts
 * const cluster = await joinCluster({ groupId: 'cdc', brokers: ['kafka:9092'], workerId: 'w1' });
 * await cluster.putTask(await loadTaskConfig('orders.yaml'));
 * console.log(await cluster.assignment()); // GET /cluster
 * process.once('SIGTERM', () => void cluster.stop());
 * ```
 */
export async function joinCluster(options: ClusterOptions): Promise<Cluster> {
  const cluster = new Cluster(options);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
