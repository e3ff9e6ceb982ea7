import Foundation
import Logging
import NIOCore
import Synchronization

/// The sign-in rate limit of one server: a `SignInThrottle` behind a `Mutex`, shared by the API's
/// bearer authentication (`RequestMiddleware`) and the console's sign-in form, so that a client's
/// failed tokens count the same whichever way it tries them. See docs/security.md.
final class SignInGuard: Sendable {
    private let throttle: Mutex<SignInThrottle>
    private let now: @Sendable () -> Date

    init(limits: SignInThrottle.Limits = SignInThrottle.Limits(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.throttle = Mutex(SignInThrottle(limits: limits))
        self.now = now
    }

    /// Whether the client at `address` may present a token now.
    func decide(_ address: SocketAddress?) -> SignInThrottle.Decision {
        let client = SignInThrottle.client(address)
        let now = now()
        return throttle.withLock { $0.decide(client, now: now) }
    }

    /// Counts a token of the client at `address` that was not valid. Logs (the client's address
    /// or /64 prefix, never the token) when this failure starts its refusal.
    func failed(_ address: SocketAddress?, logger: Logger) {
        let client = SignInThrottle.client(address)
        let now = now()
        let decision = throttle.withLock { $0.failed(client, now: now) }
        if case .refuse(let retryAfter) = decision {
            logger.warning(
                "too many invalid tokens: the client is refused until its window closes",
                metadata: ["client": .string(client), "retryAfterSeconds": .stringConvertible(retryAfter)])
        }
    }

    /// Clients tracked (bounded by the throttle's capacity).
    var count: Int { throttle.withLock { $0.entries.count } }
}
