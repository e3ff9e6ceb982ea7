import Foundation
import Testing
@testable import GatewayXML

/// A realistic `sc-traffic-xml` record of about 1 KB with 18 fields.
func trafficRecord(_ i: Int) -> String {
    """
    <vio id="\(i)">
      <xh>51172300\(String(format: "%08d", i))</xh>
      <hphm>川S·\(String(format: "%05d", i % 100_000))</hphm>
      <hpzl>02</hpzl>
      <wfsj>2023-07-11 08:30:00.0</wfsj>
      <xzqh>511723107</xzqh>
      <wfdz>任市镇中心街与滨河路交叉口，开江县任市镇人民政府门前路段往北一百米处</wfdz>
      <wfxw>1625</wfxw>
      <wfxwmc>驾驶机动车违反道路交通信号灯通行的</wfxwmc>
      <fkje>200</fkje>
      <wfjfs>6</wfjfs>
      <cjfs>1</cjfs>
      <dsr>张三</dsr>
      <jszh>511723199001011233</jszh>
      <cjjg>511723000000</cjjg>
      <cjjgmc>开江县公安局交通警察大队</cjjgmc>
      <clbj>0</clbj>
      <jkbj>0</jkbj>
      <gxsj>2023-07-11 09:00:00.0</gxsj>
    </vio>

    """
}

let trafficHead = """
    <?xml version="1.0" encoding="UTF-8"?>
    <root>
      <head><code>1</code><message>查询成功</message><rownum>0</rownum><jkid>04C03</jkid></head>
      <body>

    """

/// Writes a traffic document of about `megabytes` MB; returns the number of records.
func writeTrafficDocument(to path: String, megabytes: Int) throws -> Int {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.write(contentsOf: Data(trafficHead.utf8))
    var written = 0
    var count = 0
    while written < megabytes << 20 {
        var chunk = ""
        for _ in 0..<1000 {
            chunk += trafficRecord(count)
            count += 1
        }
        let data = Data(chunk.utf8)
        written += data.count
        try handle.write(contentsOf: data)
    }
    try handle.write(contentsOf: Data("  </body>\n</root>\n".utf8))
    return count
}

/// Streams the file, touching every record; returns the record count and how much the peak RSS
/// (VmHWM) rose above the RSS before streaming.
func streamMeasuringMemory(_ path: String) throws -> (records: Int, growth: Int) {
    let stream = try XMLRecordStream(path: path, recordPath: "body/vio")
    let xh = try XMLPath("xh")
    let baseline = currentRSS() ?? 0
    var count = 0
    var retained = 0
    while let record = try stream.next() {
        if xh.string(from: record.node) == nil { break }
        count += 1
        if count % 1000 == 0 { retained = max(retained, stream.retainedNodeCount) }
    }
    #expect(retained < 100)
    return (count, (peakRSS() ?? 0) - baseline)
}

/// Peak memory is per process: the measurement runs in a child process (this test binary, running
/// only `StreamMemoryChild`), so that tests running in parallel cannot disturb it.
func measureStreamInChildProcess(_ path: String) throws -> (records: Int, growth: Int, seconds: Double)? {
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["--testing-library", "swift-testing", "--filter", "StreamMemoryChild"]
    var environment = ProcessInfo.processInfo.environment
    environment["XGW_STREAM_MEMORY_FILE"] = path
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("XGW-STREAM ") }) else { return nil }
    let fields = line.split(separator: " ")
    guard fields.count == 4, let records = Int(fields[1]), let growth = Int(fields[2]), let seconds = Double(fields[3])
    else { return nil }
    return (records, growth, seconds)
}

@Suite struct StreamMemoryChild {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["XGW_STREAM_MEMORY_FILE"] != nil))
    func measure() throws {
        let path = try #require(ProcessInfo.processInfo.environment["XGW_STREAM_MEMORY_FILE"])
        var result: (records: Int, growth: Int)?
        let elapsed = try seconds { result = try streamMeasuringMemory(path) }
        let r = try #require(result)
        print("XGW-STREAM \(r.records) \(r.growth) \(elapsed)")
    }
}

@Suite struct StreamMemoryTests {
    @Test func fiveMegabyteDocumentStreamsInBoundedMemory() throws {
        let path = NSTemporaryDirectory() + "xgw-xml-\(UUID().uuidString).xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let expected = try writeTrafficDocument(to: path, megabytes: 5)
        let measured = try #require(try measureStreamInChildProcess(path))
        #expect(measured.records == expected)
        // Holding the records' trees would take several times the 5 MB of text.
        #expect(measured.growth < 8 << 20, "peak RSS grew by \(measured.growth >> 10) KiB")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["XGW_LARGE_TESTS"] == "1"))
    func twoHundredMegabyteDocumentStreamsInBoundedMemory() throws {
        let path = NSTemporaryDirectory() + "xgw-xml-\(UUID().uuidString).xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let expected = try writeTrafficDocument(to: path, megabytes: 200)
        let measured = try #require(try measureStreamInChildProcess(path))
        print("200 MB stream: \(measured.records) records in \(measured.seconds) s "
            + "(\(Int(Double(measured.records) / measured.seconds)) records/s), peak RSS growth \(measured.growth >> 10) KiB")
        #expect(measured.records == expected)
        #expect(measured.growth < 16 << 20, "peak RSS grew by \(measured.growth >> 10) KiB")
    }
}
