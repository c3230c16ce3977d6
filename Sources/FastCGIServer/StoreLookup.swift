import TokenCore
import TokenStore

/// A worker's store as the handler sees it: an open reader, or the error that kept it closed.
enum StoreLookup<Reader: StoreReader>: TokenLookup {
    case open(Reader)
    case unavailable(StoreError)

    mutating func token(forKey key: String) throws -> String? {
        switch self {
        case .open(let reader): try reader.token(forKey: key)
        case .unavailable(let error): throw error
        }
    }

    mutating func mintToken(forKey key: String) throws -> String? {
        switch self {
        case .open(let reader): try reader.mintToken(forKey: key)
        case .unavailable(let error): throw error
        }
    }

    var answeredFromFallback: Bool {
        if case .open(let reader) = self { reader.answeredFromFallback } else { false }
    }

    mutating func checkHealth() throws {
        switch self {
        case .open(let reader): try reader.checkHealth()
        case .unavailable(let error): throw error
        }
    }
}
