import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes the records of Takhin's real-Kafka fixture (scripts/kafka-fixture runs it against a
 * single KRaft broker on 127.0.0.1): topics whose segments roll every few KiB, records with
 * keys, values and headers in batches of several records, one topic written in transactions
 * of which some are aborted (so the broker writes a .txnindex), one topic whose old segments
 * retention deletes (so the broker leaves *.deleted files), one topic deleted outright (a
 * <topic>-<p>.<id>-delete folder), and a consumer group commit (__consumer_offsets).
 * Deterministic content and timestamps, so a rerun produces the same records.
 *
 *   java -cp <kafka jars> scripts/kafka/FixtureProducer.java 127.0.0.1:PORT SEGMENT_BYTES
 */
public class FixtureProducer {
    static final String ORDERS = "orders.v1-events";
    static final String PAYMENTS = "payments";
    static final String CLICKS = "clickstream.v2";
    static final String SCRATCH = "scratch-topic";
    // 2026-01-01T00:00:00Z: fixed, so the fixture's timestamps do not depend on when it was made.
    static final long EPOCH_MS = 1767225600000L;

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String segmentBytes = args[1];
        createTopics(bootstrap, segmentBytes);
        produceOrders(bootstrap);
        producePayments(bootstrap);
        produceClicks(bootstrap);
        consumePayments(bootstrap);
        deleteScratch(bootstrap);
        System.out.println("fixture records written");
    }

    static void createTopics(String bootstrap, String segmentBytes) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(props)) {
            // internal.segment.bytes: Kafka 4 refuses a segment.bytes under 1 MiB; this internal
            // topic config is what Kafka's own tests use for tiny segments.
            Map<String, String> kept = Map.of(
                "internal.segment.bytes", segmentBytes,
                "index.interval.bytes", "1024",
                "retention.ms", "-1",
                "message.timestamp.type", "CreateTime");
            // The records are stamped 2026-01-01, older than a day: retention deletes every closed segment.
            Map<String, String> expiring = Map.of(
                "internal.segment.bytes", segmentBytes,
                "index.interval.bytes", "1024",
                "retention.ms", "86400000");
            // A deleted topic's folder keeps its active segment's preallocated indexes: 4 KiB, not 10 MiB.
            Map<String, String> scratch = Map.of(
                "internal.segment.bytes", segmentBytes,
                "segment.index.bytes", "4096");
            admin.createTopics(List.of(
                new NewTopic(ORDERS, 2, (short) 1).configs(kept),
                new NewTopic(PAYMENTS, 1, (short) 1).configs(kept),
                new NewTopic(CLICKS, 1, (short) 1).configs(expiring),
                new NewTopic(SCRATCH, 1, (short) 1).configs(scratch))).all().get();
        }
    }

    static void deleteScratch(String bootstrap) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(props)) {
            admin.deleteTopics(List.of(SCRATCH)).all().get();
        }
    }

    static Properties producerProps(String bootstrap) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("key.serializer", StringSerializer.class.getName());
        props.put("value.serializer", StringSerializer.class.getName());
        props.put("compression.type", "none");
        props.put("acks", "all");
        // Several records a batch: a small batch size and a linger, flushed in bursts below.
        props.put("batch.size", "2048");
        props.put("linger.ms", "50");
        return props;
    }

    static ProducerRecord<String, String> record(String topic, int partition, int n, String kind) {
        String key = kind + "-" + n;
        String value = "{\"id\":" + n + ",\"kind\":\"" + kind + "\",\"amount\":" + (n * 37 % 1000) + ",\"note\":\""
            + "x".repeat(40 + n % 60) + "\"}";
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, partition, EPOCH_MS + n * 1000L, key, value);
        record.headers().add("trace-id", ("t-" + n).getBytes(StandardCharsets.UTF_8));
        if (n % 3 == 0) record.headers().add("source", "fixture".getBytes(StandardCharsets.UTF_8));
        return record;
    }

    static void produceOrders(String bootstrap) throws Exception {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps(bootstrap))) {
            for (int n = 0; n < 600; n++) {
                producer.send(record(ORDERS, n % 2, n, "order"));
                if (n % 12 == 11) producer.flush();
            }
            // One record without a key and one with a null value: both are legal and look different on disk.
            producer.send(new ProducerRecord<String, String>(ORDERS, 0, EPOCH_MS + 600_000L, (String) null, "keyless"));
            producer.send(new ProducerRecord<String, String>(ORDERS, 1, EPOCH_MS + 601_000L, "tombstone-1", (String) null));
            producer.flush();
        }
    }

    static void produceClicks(String bootstrap) throws Exception {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps(bootstrap))) {
            for (int n = 0; n < 200; n++) {
                producer.send(record(CLICKS, 0, n, "click"));
                if (n % 12 == 11) producer.flush();
            }
            for (int n = 0; n < 20; n++) producer.send(record(SCRATCH, 0, n, "scratch"));
            producer.flush();
        }
    }

    static void producePayments(String bootstrap) throws Exception {
        Properties props = producerProps(bootstrap);
        props.put("transactional.id", "takhin-fixture-payments");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            producer.initTransactions();
            int n = 0;
            for (int txn = 0; txn < 8; txn++) {
                producer.beginTransaction();
                for (int i = 0; i < 25; i++, n++) {
                    producer.send(record(PAYMENTS, 0, n, "payment"));
                    if (i % 8 == 7) producer.flush();
                }
                producer.flush();
                // Transactions 2 and 5 are aborted: the broker indexes them in the segment's .txnindex.
                if (txn == 2 || txn == 5) producer.abortTransaction();
                else producer.commitTransaction();
            }
        }
    }

    static void consumePayments(String bootstrap) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("group.id", "takhin-fixture-readers");
        props.put("isolation.level", "read_committed");
        props.put("auto.offset.reset", "earliest");
        props.put("enable.auto.commit", "false");
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(PAYMENTS));
            int seen = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            // 6 committed transactions of 25 records each; aborted ones are never delivered.
            while (seen < 150 && System.currentTimeMillis() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
                seen += records.count();
            }
            if (seen != 150) throw new IllegalStateException("read_committed consumer saw " + seen + " records, expected 150");
            consumer.commitSync();
        }
    }
}
