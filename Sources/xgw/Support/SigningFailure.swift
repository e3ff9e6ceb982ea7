import ArgumentParser
import GatewaySigning

/// Maps `SigningError`s to messages on standard error and the exit codes of cli.md.
enum SigningFailure {
    static func exit(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SigningError {
            Console.error("xgw: \(error.message)")
            throw exitCode(error.code)
        }
    }

    static func exitCode(_ code: SigningError.Code) -> ExitCode {
        switch code {
        case .cannotOpen: Exit.noInput
        case .io: Exit.ioError
        case .cryptoFailure: Exit.software
        case .keyMismatch, .unsupportedAlgorithm: Exit.usage
        default: Exit.dataError
        }
    }
}
