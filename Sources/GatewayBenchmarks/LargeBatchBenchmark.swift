import Foundation

/// `xgw bench large`: translates generated Sichuan traffic batches of growing size in a child
/// process each (`xgw translate --stream`), and reports records/s and the child's peak RSS, to
/// show memory stays flat.
public struct LargeBatchBenchmark {
    /// The `xgw` executable the children run.
    public var executable: String
    /// Document sizes in MiB.
    public var megabytes: [Int]
    /// Folder for the generated documents.
    public var directory: String
    /// Keep the generated documents.
    public var keep: Bool

    public init(executable: String, megabytes: [Int], directory: String, keep: Bool) {
        self.executable = executable
        self.megabytes = megabytes
        self.directory = directory
        self.keep = keep
    }

    public func run(output: some BenchmarkOutput) throws {
        output.line("size      records     seconds   records/s   peak RSS")
        output.flush()
        for mb in megabytes {
            let path = "\(directory)/xgw-large-\(mb)MB.xml"
            let records = try Self.generate(path: path, bytes: mb << 20)
            defer { if !keep { try? FileManager.default.removeItem(atPath: path) } }
            let start = DispatchTime.now().uptimeNanoseconds
            let (status, maxRSSKiB) = try Self.runChild(executable, ["translate", "--stream", path])
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            output.line(
                String(format: "%-9@ %-11d %-9.2f %-11.0f %.1f MiB%@", "\(mb) MB", records, seconds, Double(records) / seconds,
                    Double(maxRSSKiB) / 1024, status == 0 ? "" : "  (exit \(status))"))
            output.flush()
        }
    }

    /// Writes a batch of about `bytes` bytes; returns the number of records.
    static func generate(path: String, bytes: Int) throws -> Int {
        guard let out = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { throw BenchmarkError.invalid("cannot write \(path)") }
        defer { try? out.close() }
        try out.truncate(atOffset: 0)
        let sample = SyntheticDocuments.scTraffic(records: 1)
        let text = String(decoding: sample, as: UTF8.self)
        let head = text.components(separatedBy: "<vio id=\"0\">")[0].replacingOccurrences(of: "<rownum>1</rownum>", with: "<rownum>0</rownum>")
        let record = "<vio id=\"0\">" + text.components(separatedBy: "<vio id=\"0\">")[1].components(separatedBy: "</vio>")[0] + "</vio>\n"
        try out.write(contentsOf: Data(head.utf8))
        var written = head.utf8.count
        var count = 0
        var chunk = ""
        while written < bytes {
            let r = record.replacingOccurrences(of: "5117230000000000", with: "51172300" + String(format: "%08d", count % 100_000_000))
            chunk += r
            written += r.utf8.count
            count += 1
            if chunk.utf8.count > 1 << 20 {
                try out.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try out.write(contentsOf: Data((chunk + "  </body>\n</root>\n").utf8))
        return count
    }

    /// Runs a child with standard output and error to /dev/null; its exit status and peak RSS (KiB).
    static func runChild(_ executable: String, _ arguments: [String]) throws -> (Int32, Int) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchmarkError.invalid("cannot start \(executable): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, usage.ru_maxrss)
    }
}
