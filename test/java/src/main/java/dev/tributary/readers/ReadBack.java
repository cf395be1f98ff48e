package dev.tributary.readers;

import com.alibaba.fastjson2.JSON;
import com.alibaba.fastjson2.JSONWriter;
import com.alibaba.otter.canal.protocol.FlatMessage;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.json.canal.CanalJsonDeserializationSchema;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.utils.LogicalTypeParser;
import org.apache.flink.table.types.utils.TypeConversions;
import org.apache.flink.util.Collector;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a topic from the beginning with the Java KafkaConsumer and hands every value to
 * other people's readers, printing one JSON line per message or decoded row on stdout.
 *
 * <pre>
 * ReadBack BOOTSTRAP TIMEOUT_MS JOB...
 *   canal:TOPIC:COUNT[:ROW_TYPE]  Canal FlatMessage via fastjson2, and, when a Flink row type is
 *                                 given ("id BIGINT, name STRING, ..."), Flink's
 *                                 CanalJsonDeserializationSchema
 *   avro:TOPIC:COUNT:AVSC_FILE    Apache Avro GenericDatumReader with the Record type of the file
 * </pre>
 *
 * Jobs run one after another on one consumer (one JVM start for the whole test). Lines:
 * {"reader":"kafka","topic":..,"offset":..} for every consumed record, then
 * {"reader":"canal"|"flink"|"avro","topic":..,"offset":..} with the decoded content or "error".
 * Exits 0 when every job read its COUNT records, 2 when one timed out.
 */
public final class ReadBack {
  private static final ObjectMapper JSON_OUT = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private ReadBack() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: ReadBack BOOTSTRAP TIMEOUT_MS JOB... (JOB = canal:TOPIC:COUNT[:ROW_TYPE] | avro:TOPIC:COUNT:AVSC)");
      System.exit(64);
    }
    String bootstrap = args[0];
    long timeoutMs = Long.parseLong(args[1]);

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "tributary-readback");
    // a checksum mismatch or a batch the client cannot decompress must fail, never be skipped
    props.put(ConsumerConfig.CHECK_CRCS_CONFIG, "true");

    int status = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      for (int j = 2; j < args.length; j++) {
        String[] job = args[j].split(":", 4);
        String mode = job[0];
        String topic = job[1];
        int count = Integer.parseInt(job[2]);
        String extra = job.length > 3 ? job[3] : null;
        Handler handler;
        switch (mode) {
          case "canal":
            handler = new CanalHandler(topic, extra);
            break;
          case "avro":
            if (extra == null) throw new IllegalArgumentException("avro needs the .avsc file");
            handler = new AvroHandler(topic, new File(extra));
            break;
          default:
            throw new IllegalArgumentException("unknown mode " + mode);
        }
        if (!readTopic(consumer, topic, count, timeoutMs, handler)) status = 2;
      }
    }
    System.exit(status);
  }

  /** Every record of every partition of one topic, from the beginning, until COUNT arrived. */
  private static boolean readTopic(KafkaConsumer<byte[], byte[]> consumer, String topic, int count, long timeoutMs, Handler handler) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    List<TopicPartition> parts = new ArrayList<>();
    for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs))) {
      parts.add(new TopicPartition(topic, p.partition()));
    }
    if (parts.isEmpty()) {
      System.err.println("topic " + topic + " does not exist");
      return false;
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    int seen = 0;
    while (seen < count) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        System.err.println("timeout: read " + seen + " of " + count + " records from " + topic);
        return false;
      }
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(Math.min(left, 500)))) {
        ObjectNode k = line("kafka", topic, r.offset());
        k.put("partition", r.partition());
        k.put("key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
        k.put("valueBytes", r.value() == null ? 0 : r.value().length);
        emit(k);
        handler.handle(r.offset(), r.value());
        seen++;
        if (seen >= count) break;
      }
    }
    return true;
  }

  static void emit(ObjectNode line) {
    try {
      OUT.println(JSON_OUT.writeValueAsString(line));
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  static ObjectNode line(String reader, String topic, long offset) {
    ObjectNode n = NODES.objectNode();
    n.put("reader", reader);
    n.put("topic", topic);
    n.put("offset", offset);
    return n;
  }

  static String describe(Throwable t) {
    StringBuilder s = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (s.length() > 0) s.append(" <- ");
      s.append(c.getClass().getName()).append(": ").append(c.getMessage());
      if (c.getCause() == c) break;
    }
    return s.toString();
  }

  interface Handler {
    void handle(long offset, byte[] value) throws Exception;
  }

  /** Canal's FlatMessage (parsed the way Canal's Kafka client does) and Flink's canal-json. */
  static final class CanalHandler implements Handler {
    private final String topic;
    private final CanalJsonDeserializationSchema flink;
    private final RowType rowType;

    CanalHandler(String topic, String rowTypeText) throws Exception {
      this.topic = topic;
      if (rowTypeText == null || rowTypeText.isBlank()) {
        flink = null;
        rowType = null;
        return;
      }
      LogicalType parsed = LogicalTypeParser.parse("ROW<" + rowTypeText + ">", ReadBack.class.getClassLoader());
      rowType = (RowType) parsed;
      DataType physical = TypeConversions.fromLogicalToDataType(rowType);
      flink =
          CanalJsonDeserializationSchema.builder(physical, Collections.emptyList(), TypeInformation.of(RowData.class))
              .setIgnoreParseErrors(false)
              .build();
      flink.open(
          new DeserializationSchema.InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
              return new UnregisteredMetricsGroup();
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
              return SimpleUserCodeClassLoader.create(ReadBack.class.getClassLoader());
            }
          });
    }

    @Override
    public void handle(long offset, byte[] value) {
      String text = new String(value, StandardCharsets.UTF_8);
      ObjectNode c = line("canal", topic, offset);
      try {
        FlatMessage m = JSON.parseObject(text, FlatMessage.class);
        // what the Java object holds, written back out by Canal's own JSON library (nulls kept)
        c.set("message", JSON_OUT.readTree(JSON.toJSONString(m, JSONWriter.Feature.WriteNulls)));
      } catch (Throwable t) {
        c.put("error", describe(t));
      }
      emit(c);

      if (flink == null) return;
      List<RowData> rows = new ArrayList<>();
      try {
        flink.deserialize(
            value,
            new Collector<RowData>() {
              @Override
              public void collect(RowData record) {
                rows.add(record);
              }

              @Override
              public void close() {}
            });
      } catch (Throwable t) {
        ObjectNode f = line("flink", topic, offset);
        f.put("error", describe(t));
        emit(f);
        return;
      }
      if (rows.isEmpty()) {
        ObjectNode f = line("flink", topic, offset);
        f.put("skipped", true);
        emit(f);
      }
      for (RowData r : rows) {
        ObjectNode f = line("flink", topic, offset);
        f.put("kind", r.getRowKind().shortString());
        f.set("row", flinkRow(r));
        emit(f);
      }
    }

    private ObjectNode flinkRow(RowData r) {
      ObjectNode o = NODES.objectNode();
      List<RowType.RowField> fields = rowType.getFields();
      for (int i = 0; i < fields.size(); i++) {
        RowType.RowField field = fields.get(i);
        Object v = RowData.createFieldGetter(field.getType(), i).getFieldOrNull(r);
        if (v == null) o.putNull(field.getName());
        else if (v instanceof StringData) o.put(field.getName(), v.toString());
        else if (v instanceof DecimalData) o.put(field.getName(), ((DecimalData) v).toBigDecimal().toPlainString());
        else if (v instanceof TimestampData) o.put(field.getName(), ((TimestampData) v).toInstant().toString());
        else if (v instanceof Boolean) o.put(field.getName(), (Boolean) v);
        else if (v instanceof Long) o.put(field.getName(), String.valueOf(v));
        else o.put(field.getName(), v.toString());
      }
      return o;
    }
  }

  /** Apache Avro's generic reader with the Record type of a published .avsc file. */
  static final class AvroHandler implements Handler {
    private final String topic;
    private final GenericDatumReader<GenericRecord> reader;
    private BinaryDecoder decoder;

    AvroHandler(String topic, File avsc) throws Exception {
      this.topic = topic;
      Schema.Parser parser = new Schema.Parser();
      parser.parse(avsc);
      Schema record = parser.getTypes().get("com.alibaba.dts.formats.avro.Record");
      if (record == null) throw new IllegalArgumentException(avsc + " defines no com.alibaba.dts.formats.avro.Record");
      reader = new GenericDatumReader<>(record);
    }

    @Override
    public void handle(long offset, byte[] value) {
      ObjectNode a = line("avro", topic, offset);
      try {
        decoder = DecoderFactory.get().binaryDecoder(value, decoder);
        GenericRecord r = reader.read(null, decoder);
        if (!decoder.isEnd()) throw new IllegalStateException("trailing bytes after the Record");
        a.set("record", toJson(r, r.getSchema()));
      } catch (Throwable t) {
        a.put("error", describe(t));
      }
      emit(a);
    }

    private static com.fasterxml.jackson.databind.JsonNode toJson(Object v, Schema s) {
      switch (s.getType()) {
        case NULL:
          return NODES.nullNode();
        case UNION: {
          int branch = GenericData.get().resolveUnion(s, v);
          return toJson(v, s.getTypes().get(branch));
        }
        case RECORD: {
          GenericRecord r = (GenericRecord) v;
          ObjectNode o = NODES.objectNode();
          o.put("@type", s.getName());
          for (Schema.Field f : s.getFields()) {
            Object fv = r.get(f.pos());
            if ("Character".equals(s.getName()) && "value".equals(f.name())) {
              ByteBuffer b = ((ByteBuffer) fv).duplicate();
              byte[] bytes = new byte[b.remaining()];
              b.get(bytes);
              o.put("value", new String(bytes, Charset.forName(r.get("charset").toString())));
            } else {
              o.set(f.name(), toJson(fv, f.schema()));
            }
          }
          return o;
        }
        case ARRAY: {
          ArrayNode arr = NODES.arrayNode();
          Schema el = s.getElementType();
          for (Object e : (List<?>) v) arr.add(toJson(e, el));
          return arr;
        }
        case MAP: {
          ObjectNode o = NODES.objectNode();
          for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) o.set(e.getKey().toString(), toJson(e.getValue(), s.getValueType()));
          return o;
        }
        case BYTES: {
          ByteBuffer b = ((ByteBuffer) v).duplicate();
          byte[] bytes = new byte[b.remaining()];
          b.get(bytes);
          return NODES.textNode(HexFormat.of().formatHex(bytes));
        }
        case STRING:
        case ENUM:
          return NODES.textNode(v.toString());
        case INT:
          return NODES.numberNode((Integer) v);
        case LONG:
          return NODES.numberNode((Long) v);
        case DOUBLE:
          return NODES.numberNode((Double) v);
        case FLOAT:
          return NODES.numberNode((Float) v);
        case BOOLEAN:
          return NODES.booleanNode((Boolean) v);
        default:
          return NODES.textNode(String.valueOf(v));
      }
    }
  }
}
