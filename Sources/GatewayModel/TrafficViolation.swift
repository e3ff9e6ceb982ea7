/// A traffic violation record (交通违法记录), `kind` `traffic-violation`.
public struct TrafficViolation: Sendable, Hashable {
    public struct Vehicle: Sendable, Hashable, JSONModel {
        /// Normalized plate, e.g. `川S12345`.
        public var plate: String
        /// GA 24.7 plate-type code, two digits.
        public var plateType: String

        public init(plate: String, plateType: String) {
            self.plate = plate
            self.plateType = plateType
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            plate = try fields.string("plate")
            plateType = try fields.string("plateType")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("plate", plate)
            o.add("plateType", plateType)
            return o.json
        }
    }

    /// The driver, for on-site records when known. Personal data: mask before logging.
    public struct Driver: Sendable, Hashable, JSONModel, CustomStringConvertible {
        public var name: String
        public var idNumber: String

        public init(name: String, idNumber: String) {
            self.name = name
            self.idNumber = idNumber
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            name = try fields.string("name")
            idNumber = try fields.string("idNumber")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("name", name)
            o.add("idNumber", idNumber)
            return o.json
        }

        /// Masked, so that interpolating a driver into a log line leaks nothing.
        public var description: String { "Driver(\(Masking.name(name)), \(Masking.idNumber(idNumber)))" }
    }

    public struct Location: Sendable, Hashable, JSONModel {
        public var divisionCode: String
        public var address: String
        /// Decimal degrees, exact text as received.
        public var longitude: JSONNumber?
        public var latitude: JSONNumber?

        public init(divisionCode: String, address: String, longitude: JSONNumber? = nil, latitude: JSONNumber? = nil) {
            self.divisionCode = divisionCode
            self.address = address
            self.longitude = longitude
            self.latitude = latitude
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            divisionCode = try fields.string("divisionCode")
            address = try fields.string("address")
            longitude = try fields.optionalNumber("longitude")
            latitude = try fields.optionalNumber("latitude")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("divisionCode", divisionCode)
            o.add("address", address)
            o.add("longitude", longitude)
            o.add("latitude", latitude)
            return o.json
        }
    }

    public struct Violation: Sendable, Hashable, JSONModel {
        /// GA 408.1 violation code (4 or 5 digits).
        public var code: String
        public var description: String?

        public init(code: String, description: String? = nil) {
            self.code = code
            self.description = description
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            code = try fields.string("code")
            description = try fields.optionalString("description")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("code", code)
            o.add("description", description)
            return o.json
        }
    }

    public struct Penalty: Sendable, Hashable, JSONModel {
        public var fineFen: Int
        /// One of 0, 1, 3, 6, 9, 12.
        public var points: Int

        public init(fineFen: Int, points: Int) {
            self.fineFen = fineFen
            self.points = points
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            fineFen = try fields.int("fineFen")
            points = try fields.int("points")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("fineFen", fineFen)
            o.add("points", points)
            return o.json
        }
    }

    public enum Capture: String, Sendable, Hashable, CaseIterable {
        /// Recorded on the spot by an officer.
        case site
        /// Recorded by a surveillance device.
        case camera
    }

    public enum Status: String, Sendable, Hashable, CaseIterable {
        case pending, processed, paid
    }

    public var head: RecordHead
    public var vehicle: Vehicle
    public var driver: Driver?
    public var occurredAt: LocalDateTime
    public var location: Location
    public var violation: Violation
    public var penalty: Penalty
    public var capture: Capture
    public var status: Status
    public var agency: Agency

    public init(
        head: RecordHead, vehicle: Vehicle, driver: Driver? = nil, occurredAt: LocalDateTime, location: Location,
        violation: Violation, penalty: Penalty, capture: Capture, status: Status, agency: Agency
    ) {
        self.head = head
        self.vehicle = vehicle
        self.driver = driver
        self.occurredAt = occurredAt
        self.location = location
        self.violation = violation
        self.penalty = penalty
        self.capture = capture
        self.status = status
        self.agency = agency
    }

    /// Reads a canonical record, validating it first (every problem is thrown at once).
    public init(json: JSONValue) throws(InvalidRecordError) {
        let fields = try RecordHead.fields(of: json, kind: .trafficViolation)
        head = try RecordHead(fields: fields)
        vehicle = try fields.model("vehicle")
        driver = try fields.optionalModel("driver")
        occurredAt = try fields.instant("occurredAt")
        location = try fields.model("location")
        violation = try fields.model("violation")
        penalty = try fields.model("penalty")
        capture = try fields.enumeration("capture")
        status = try fields.enumeration("status")
        agency = try fields.model("agency")
    }

    /// The canonical JSON of this record (optional members omitted).
    public var json: JSONValue {
        var o = head.begin(kind: .trafficViolation)
        o.add("vehicle", vehicle)
        o.add("driver", driver)
        o.add("occurredAt", occurredAt)
        o.add("location", location)
        o.add("violation", violation)
        o.add("penalty", penalty)
        o.add("capture", capture)
        o.add("status", status)
        o.add("agency", agency)
        return o.json
    }
}
