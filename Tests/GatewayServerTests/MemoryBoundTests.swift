import Foundation
import GatewayModel
import TestSupport
import Testing

/// Issue 17 row 3, measured on a real `xgw serve` child: the issue's hostile documents (15 MiB of
/// 3.9 million empty elements outside any record, 14 MiB of a JSON array of 7 million zeros) are
/// refused with `malformed-document` at a peak memory of at most 4× the body and under a second of
/// CPU per MiB. Peak memory is the kernel's high-water mark (`VmHWM`), reset before each request
/// (`clear_refs` 5), less the resident size at that moment.
@Suite(.serialized)
struct MemoryBoundTests {
    /// `VmHWM` and `VmRSS` of a process, in bytes.
    static func memory(of pid: Int32) throws -> (peak: Int, resident: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ key: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
        }
        return (kilobytes("VmHWM"), kilobytes("VmRSS"))
    }

    /// User and system CPU seconds of a process so far.
    static func cpuSeconds(of pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // After the command name in parentheses: fields 3 onwards; utime and stime are 14 and 15.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(fields[11])! + Double(fields[12])!
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Each document on a fresh server, as the issue measured it.
    @Test(arguments: [
        ("3.9 million empty elements", "<root>" + String(repeating: "<a/>", count: 3_932_160) + "</root>"),
        ("a JSON array of 7 million zeros", "[" + String(repeating: "0,", count: 7 << 20 - 1) + "0]"),
    ])
    func aHostileDocumentCostsAtMostFourTimesItsSize(label: String, text: String) async throws {
        let body = Array(text.utf8)
        try await withServer { server in
            let pid = server.process.processIdentifier
            let token = try #require(server.printedTokens["xinsheng"])
            let client = HTTPClient(port: server.port)
            // A real submission first, so that mappings, keys and the database are warm.
            #expect(try await client.call("POST", "/v1/documents", token: token, body: chongqingTraffic(tag: "mem", count: 3)).status == 200)

            // Reset the high-water mark to the current resident size (root or the owner may).
            try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
            let before = try Self.memory(of: pid)
            let cpuBefore = try Self.cpuSeconds(of: pid)
            let answer = try await client.call("POST", "/v1/documents", token: token, body: body, timeout: 120)
            let after = try Self.memory(of: pid)
            let cpu = try Self.cpuSeconds(of: pid) - cpuBefore
            let mib = Double(body.count) / Double(1 << 20)
            #expect(answer.status == 422, "\(label): \(answer.status)")
            let code = answer.json?["records"]?.arrayValue?.first?["errors"]?.arrayValue?.first?["code"]?.stringValue
            #expect(code == "malformed-document", "\(label): \(answer.text.prefix(300))")
            let cost = after.peak - before.resident
            #expect(
                cost <= 4 * body.count,
                "\(label): \(String(format: "%.1f", mib)) MiB cost \(cost >> 20) MiB at peak (\(String(format: "%.1f", Double(cost) / Double(body.count)))×)")
            #expect(cpu < mib, "\(label): \(String(format: "%.2f", cpu)) s of CPU for \(String(format: "%.1f", mib)) MiB")
            #expect(try await client.call("GET", "/healthz").status == 200)
        }
    }
}
