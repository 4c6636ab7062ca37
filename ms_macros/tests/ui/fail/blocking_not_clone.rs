use ms_runtime::{HandlerError, ms_service};

struct Model;

#[ms_service(name = "model")]
impl Model {
    #[route("infer", blocking)]
    fn infer(&self, input: Vec<f32>) -> Result<f32, HandlerError> {
        Ok(input.iter().sum())
    }
}

fn main() {}
