import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed): for a
/// listener whose port must be known before it starts, such as a node's federation port, which the
/// directory names in its url (`xgw bench federation` and the federation tests).
public func freePort() throws(FreePortFailure) -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw FreePortFailure(call: "socket", errno: errno) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw FreePortFailure(call: "bind to 127.0.0.1:0", errno: errno) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw FreePortFailure(call: "getsockname", errno: errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Why `freePort()` found no port: the system call that failed and its errno.
public struct FreePortFailure: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public var description: String { "freePort: \(call) failed: \(String(cString: strerror(errno)))" }
}
