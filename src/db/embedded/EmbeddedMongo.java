import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Starts mongo-java-server (an in-process MongoDB wire-protocol server) for development and tests.
 *
 * Usage: java -cp 'lib/*' EmbeddedMongo.java [--port N] [--file path/to/data.mv]
 * Without --file the data lives in memory; with it, in an H2 MVStore file that survives restarts.
 * Prints "LISTENING <port>" once ready and exits when its standard input closes, so it never
 * outlives the Node process that started it. Exit code 3 (with "FILE_LOCKED <path>" on stderr): another
 * process holds the data file.
 */
public class EmbeddedMongo {
    /** The MongoDB driver refuses servers that report a wire version older than it supports. */
    static final class ReportedVersion implements MongoVersion {
        @Override public List<Integer> getVersionArray() { return List.of(6, 0, 0); }
        @Override public int getWireVersion() { return 17; }
    }

    /**
     * H2 writes its changes to the file about once a second; committing after each message that changed
     * something means an acknowledged write survives a killed process (reads change nothing, cost nothing).
     */
    static final class DurableH2Backend extends H2Backend {
        DurableH2Backend(String file) { super(file); }

        @Override
        public Document handleMessage(MongoMessage message) {
            Document result = super.handleMessage(message);
            if (getMvStore().hasUnsavedChanges()) commit();
            return result;
        }
    }

    public static void main(String[] args) throws Exception {
        int port = 0;
        String file = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--file" -> file = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        MongoBackend backend;
        if (file != null) {
            Path path = Path.of(file).toAbsolutePath();
            Files.createDirectories(path.getParent());
            try {
                backend = new DurableH2Backend(path.toString());
            } catch (RuntimeException e) {
                // H2 locks the file while a process has it open: say so in one line the launcher recognises.
                if (String.valueOf(e.getMessage()).contains("file is locked")) {
                    System.err.println("FILE_LOCKED " + path);
                    System.exit(3);
                }
                throw e;
            }
        } else {
            backend = new MemoryBackend();
        }
        backend.version(new ReportedVersion());
        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        System.out.println("LISTENING " + server.getLocalAddress().getPort());
        System.out.flush();
        waitForStdinToClose(System.in);
        server.shutdownNow();
        System.exit(0);
    }

    private static void waitForStdinToClose(InputStream in) throws IOException {
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
            // Input is ignored; end of stream means the parent process is gone.
        }
    }
}
